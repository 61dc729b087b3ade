// Decoder embedding models against transformers: the tiny random Qwen3-Embedding-style
// checkpoint in tests/data/embedding/qwen3-tiny (tools/make-embedding-references.py) loads
// as an HF directory, and its LAST and MEAN vectors, normalized, are within 1e-4 cosine of
// what transformers computes from Qwen3Model's last_hidden_state — every request batched
// into one step, and each alone; through llm_engine from text too (the byte tokenizer).
// llama.cpp's converter refuses this checkpoint's tokenizer (an unknown pre-tokenizer
// hash), so there is no GGUF of it; tools/bench-embeddings compares GGUF vectors with
// llama-server instead.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include <simdjson.h>

#include "backends/cpu/cpu_executor.hpp"
#include "core/engine_loop.hpp"
#include "core/llm_engine.hpp"
#include "model/model_loader.hpp"
#include "support/cosine.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace embedding_reference_test {

const std::string k_model_dir = std::string(ACTORLM_SOURCE_DIR) + "/tests/data/embedding/qwen3-tiny";

struct reference_case {
    std::string text;
    std::vector<int32_t> ids;
    std::vector<double> last;  // normalized
    std::vector<double> mean;  // normalized
};

std::vector<double> read_doubles(simdjson::dom::element e) {
    simdjson::dom::array a;
    REQUIRE(e.get(a) == simdjson::SUCCESS);
    std::vector<double> v;
    for (auto x : a) v.push_back(double(x));
    return v;
}

std::vector<reference_case> read_reference() {
    const std::string s = actorlm::test::read_file(k_model_dir + "/reference.json");
    REQUIRE_FALSE(s.empty());
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE(parser.parse(s).get(root) == simdjson::SUCCESS);
    simdjson::dom::array cases;
    REQUIRE(root["cases"].get(cases) == simdjson::SUCCESS);
    std::vector<reference_case> out;
    for (simdjson::dom::element c : cases) {
        reference_case r;
        std::string_view text_field;
        REQUIRE(c["text"].get(text_field) == simdjson::SUCCESS);
        r.text = std::string(text_field);
        for (double id : read_doubles(c["ids"])) r.ids.push_back(static_cast<int32_t>(id));
        r.last = read_doubles(c["last"]);
        r.mean = read_doubles(c["mean"]);
        out.push_back(std::move(r));
    }
    REQUIRE(out.size() == 4);
    return out;
}

const pooling_params k_last{pooling_params::kind::last, true};
const pooling_params k_mean{pooling_params::kind::mean, true};

const std::vector<double>& expected(const reference_case& c, pooling_params p) {
    return p.type == pooling_params::kind::last ? c.last : c.mean;
}

request_spec embed_spec(const std::string& id, const std::vector<int32_t>& ids,
                        pooling_params p) {
    request_spec s;
    s.req_id = id;
    s.prompt_token_ids = ids;
    s.params.pooling = p;
    s.eos_token_ids = {256};
    return s;
}

std::unique_ptr<cpu_executor> make_executor(const loaded_model& m) {
    kv_cache_spec spec;
    spec.num_blocks = 64;
    spec.block_size = 16;
    spec.type = dtype::f32;
    cpu_executor_options opts;
    opts.num_threads = 1;
    auto ex = cpu_executor::create(m.config, m.weights, spec, opts);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
    return std::move(ex).value();
}

/// Adds `specs`, steps until they finish; returns each request's vector and how many
/// steps it took.
std::map<std::string, std::vector<float>> run(engine_loop& loop, std::vector<request_spec> specs,
                                              int& num_steps) {
    for (auto& s : specs) REQUIRE(loop.add_request(std::move(s)).ok());
    std::map<std::string, std::vector<float>> got;
    num_steps = 0;
    while (loop.has_unfinished_requests() && num_steps < 100) {
        ++num_steps;
        for (auto& o : loop.step()) {
            if (!o.embedding.empty()) got[o.req_id] = o.embedding;
            if (o.finished()) CHECK(o.status == request_status::finished_stopped);
        }
    }
    REQUIRE_FALSE(loop.has_unfinished_requests());
    return got;
}

}  // namespace embedding_reference_test

using namespace embedding_reference_test;

TEST_CASE("embedding reference: tiny Qwen3 LAST and MEAN match transformers, batched in one "
          "step and one by one") {
    auto model = load_hf_model(k_model_dir);
    REQUIRE_MESSAGE(model.ok(), (model.ok() ? "" : model.message()));
    CHECK(model->config.arch == model_arch::qwen3);
    const auto cases = read_reference();
    scheduler_config cfg;
    cfg.num_blocks = 64;
    cfg.max_model_len = 512;
    double worst = 1.0;

    // Every prompt with both poolings in one step: 8 rows of 1 to 62 tokens.
    {
        auto ex = make_executor(*model);
        auto loop = engine_loop::create(cfg, *ex);
        REQUIRE(loop.ok());
        std::vector<request_spec> specs;
        for (size_t i = 0; i < cases.size(); ++i)
            for (const auto& p : {k_last, k_mean})
                specs.push_back(embed_spec(std::to_string(i) + pooling_kind_name(p.type),
                                           cases[i].ids, p));
        int num_steps = 0;
        const auto got = run(**loop, specs, num_steps);
        CHECK(num_steps == 1);
        for (size_t i = 0; i < cases.size(); ++i)
            for (const auto& p : {k_last, k_mean}) {
                const std::string id = std::to_string(i) + pooling_kind_name(p.type);
                CAPTURE(id);
                REQUIRE(got.count(id) == 1);
                const double cos = actorlm::test::cosine(got.at(id), expected(cases[i], p));
                CHECK(cos >= 1.0 - 1e-4);
                worst = std::min(worst, cos);
            }
    }
    // Each request alone, on a fresh engine, so nothing is shared with a neighbour.
    for (size_t i = 0; i < cases.size(); ++i)
        for (const auto& p : {k_last, k_mean}) {
            const std::string id = std::to_string(i) + pooling_kind_name(p.type);
            CAPTURE(id);
            auto ex = make_executor(*model);
            auto loop = engine_loop::create(cfg, *ex);
            REQUIRE(loop.ok());
            int num_steps = 0;
            const auto got = run(**loop, {embed_spec(id, cases[i].ids, p)}, num_steps);
            REQUIRE(got.count(id) == 1);
            const double cos = actorlm::test::cosine(got.at(id), expected(cases[i], p));
            CHECK(cos >= 1.0 - 1e-4);
            worst = std::min(worst, cos);
        }
    MESSAGE("qwen3-tiny: largest 1 - cosine to transformers " << (1.0 - worst));
}

TEST_CASE("embedding reference: llm_engine embeds the tiny Qwen3's text as transformers does") {
    const auto cases = read_reference();
    actorlm::engine_config cfg;
    cfg.model_path = k_model_dir;
    cfg.kv_cache_memory_bytes = 4 << 20;
    cfg.num_threads = 1;
    auto eng = llm_engine::create(cfg);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    std::vector<actorlm::generate_request> reqs;
    for (const auto& c : cases)
        for (const auto& p : {k_last, k_mean}) {
            actorlm::generate_request r;
            r.prompt = c.text;
            r.params.pooling = p;
            reqs.push_back(r);
        }
    auto res = (*eng)->generate(reqs);
    REQUIRE(res.ok());
    REQUIRE(res->size() == reqs.size());
    for (size_t i = 0; i < res->size(); ++i) {
        const auto& c = cases[i / 2];
        CAPTURE(c.text);
        CHECK((*res)[i].prompt_token_ids == c.ids);
        CHECK(actorlm::test::cosine((*res)[i].embedding, expected(c, *reqs[i].params.pooling)) >= 1.0 - 1e-4);
    }
}

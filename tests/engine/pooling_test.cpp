// Pooling (embedding) requests over the real CPU forward pass with stories260K: the
// LAST, MEAN and CLS vectors equal the final-norm hidden states of an independent
// reference forward pass (support/reference_model.hpp), whole or prefilled in chunks
// with prefix hits; normalize divides by the L2 norm; a request ends with its prompt,
// finish stop and no token; generation batched with embeddings keeps its greedy ids;
// llm_engine hands the vector to its caller; bad pooling parameters are refused.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "core/engine_loop.hpp"
#include "core/kv_invariants.hpp"
#include "core/llm_engine.hpp"
#include "model/model_loader.hpp"
#include "stories_executor.hpp"
#include "support/golden_cases.hpp"
#include "support/reference_model.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::core;
using actorlm::test::golden_case;

namespace {

/// What the engine must return for `tokens`: the reference's rows pooled in double.
std::vector<double> reference_pooled(const loaded_model& m, const std::vector<int32_t>& tokens,
                                     pooling_params p) {
    const auto rows = actorlm::test::reference_hidden_states(m.config, m.weights, tokens);
    std::vector<double> v(rows[0].size(), 0.0);
    switch (p.type) {
        case pooling_params::kind::last: v = rows.back(); break;
        case pooling_params::kind::cls: v = rows.front(); break;
        case pooling_params::kind::mean:
            for (const auto& r : rows)
                for (size_t j = 0; j < v.size(); ++j)
                    v[j] += r[j] / static_cast<double>(rows.size());
            break;
    }
    if (p.normalize) {
        double n2 = 0.0;
        for (double x : v) n2 += x * x;
        for (double& x : v) x /= std::sqrt(n2);
    }
    return v;
}

double max_abs_diff(const std::vector<float>& got, const std::vector<double>& want) {
    REQUIRE(got.size() == want.size());
    double d = 0.0;
    for (size_t j = 0; j < got.size(); ++j) d = std::max(d, std::abs(got[j] - want[j]));
    return d;
}

struct run_result {
    std::map<std::string, std::vector<int32_t>> tokens;
    std::map<std::string, std::vector<float>> embeddings;
    std::map<std::string, request_status> status;
};

/// Runs every spec to the end, checking the block accounting after each step.
// The scheduler every case runs: a 64-block pool on the stories executor, 512-token
// context; `max_num_batched_tokens` 0 keeps the default step size.
scheduler_config stories_scheduler(int32_t max_num_batched_tokens = 0) {
    scheduler_config cfg;
    cfg.num_blocks = 64;
    cfg.max_model_len = 512;
    if (max_num_batched_tokens > 0) cfg.max_num_batched_tokens = max_num_batched_tokens;
    return cfg;
}

run_result run_all(engine_loop& loop, std::vector<request_spec> specs) {
    for (auto& s : specs) REQUIRE(loop.add_request(std::move(s)).ok());
    run_result got;
    for (int step = 0; step < 5000 && loop.has_unfinished_requests(); ++step) {
        for (auto& o : loop.step()) {
            got.tokens[o.req_id].insert(got.tokens[o.req_id].end(), o.new_token_ids.begin(),
                                        o.new_token_ids.end());
            if (!o.embedding.empty()) got.embeddings[o.req_id] = o.embedding;
            if (o.finished()) got.status[o.req_id] = o.status;
        }
        auto inv = check_kv_invariants(loop.sched());
        REQUIRE_MESSAGE(inv.ok(), inv.message());
    }
    REQUIRE_FALSE(loop.has_unfinished_requests());
    return got;
}

request_spec embed_spec(const std::string& id, const std::vector<int32_t>& prompt,
                        pooling_params p) {
    request_spec s;
    s.req_id = id;
    s.prompt_token_ids = prompt;
    s.params.pooling = p;
    s.eos_token_ids = {2};
    return s;
}

request_spec greedy_spec(const std::string& id, const golden_case& c) {
    request_spec s;
    s.req_id = id;
    s.prompt_token_ids = c.prompt_ids;
    s.params.temperature = 0.0f;
    s.params.max_tokens = static_cast<int32_t>(c.greedy_ids.size());
    s.params.stop_token_ids = {1};
    s.eos_token_ids = {2};
    return s;
}

/// The golden prompts (1 to 12 tokens) and one of several blocks: the longest prompt
/// followed by its greedy completion, a text the model wrote itself.
std::vector<std::vector<int32_t>> test_prompts(const std::vector<golden_case>& cases) {
    std::vector<std::vector<int32_t>> prompts;
    for (const auto& c : cases) prompts.push_back(c.prompt_ids);
    std::vector<int32_t> longest = cases.back().prompt_ids;
    longest.insert(longest.end(), cases.back().greedy_ids.begin(), cases.back().greedy_ids.end());
    REQUIRE(longest.size() > 40);
    prompts.push_back(longest);
    return prompts;
}

const std::vector<pooling_params> k_poolings = {
    {pooling_params::kind::last, false}, {pooling_params::kind::mean, false},
    {pooling_params::kind::cls, false},  {pooling_params::kind::last, true},
    {pooling_params::kind::mean, true},
};

}  // namespace

TEST_CASE(
    "pooling: stories260K LAST, MEAN and CLS equal the reference hidden states, whole "
    "and chunked") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto model = load_model(actorlm::test::shared_path("models/stories260K.gguf"));
    REQUIRE(model.ok());
    const auto cases =
        actorlm::test::read_golden(actorlm::test::shared_path("models/stories260K.golden.json"));
    REQUIRE(cases.size() == 4);
    const auto prompts = test_prompts(cases);
    // Whole prompts in one step; then 16-token steps of at most 8 tokens per prompt, each
    // prompt twice, so chunks, prefix hits (LAST) and cache bypasses (MEAN, CLS) all happen.
    for (const bool chunked : {false, true}) {
        CAPTURE(chunked);
        auto ex = actorlm::test::make_stories_executor(64);
        scheduler_config cfg = stories_scheduler(chunked ? 16 : 0);
        if (chunked) cfg.long_prefill_token_threshold = 8;
        auto loop = engine_loop::create(cfg, *ex);
        REQUIRE(loop.ok());
        std::vector<request_spec> specs;
        for (size_t p = 0; p < k_poolings.size(); ++p)
            for (size_t i = 0; i < prompts.size(); ++i)
                for (int copy = 0; copy < (chunked ? 2 : 1); ++copy)
                    specs.push_back(embed_spec(
                        std::to_string(p) + "/" + std::to_string(i) + "/" + std::to_string(copy),
                        prompts[i], k_poolings[p]));
        const run_result got = run_all(**loop, specs);
        for (const auto& s : specs) {
            CAPTURE(s.req_id);
            CHECK(got.status.at(s.req_id) == request_status::finished_stopped);
            CHECK(got.tokens.at(s.req_id).empty());
            REQUIRE(got.embeddings.count(s.req_id) == 1);
            const auto& v = got.embeddings.at(s.req_id);
            CHECK(v.size() == static_cast<size_t>(model->config.hidden_size));
            CHECK(max_abs_diff(v, reference_pooled(*model, s.prompt_token_ids, *s.params.pooling)) <
                  1e-4);
        }
        if (chunked) CHECK((*loop)->sched().stats().prefix_cache.hits > 0);
    }
}

TEST_CASE("pooling: a lone chunked CLS or LAST request finishes on a step that reads no rows") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto model = load_model(actorlm::test::shared_path("models/stories260K.gguf"));
    REQUIRE(model.ok());
    const auto prompts = test_prompts(
        actorlm::test::read_golden(actorlm::test::shared_path("models/stories260K.golden.json")));
    // CLS reads position 0 only, in its first chunk; its last chunk reads nothing.
    for (const auto& p : {pooling_params{pooling_params::kind::cls, true},
                          pooling_params{pooling_params::kind::last, true}}) {
        CAPTURE(pooling_kind_name(p.type));
        auto ex = actorlm::test::make_stories_executor(64);
        auto loop = engine_loop::create(stories_scheduler(16), *ex);
        REQUIRE(loop.ok());
        const run_result got = run_all(**loop, {embed_spec("alone", prompts.back(), p)});
        REQUIRE(got.embeddings.count("alone") == 1);
        CHECK(max_abs_diff(got.embeddings.at("alone"),
                           reference_pooled(*model, prompts.back(), p)) < 1e-4);
    }
}

TEST_CASE("pooling: generation batched with embedding requests keeps its greedy ids") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const auto cases =
        actorlm::test::read_golden(actorlm::test::shared_path("models/stories260K.golden.json"));
    const auto prompts = test_prompts(cases);
    auto generate = [&](bool with_embeddings) {
        auto ex = actorlm::test::make_stories_executor(64);
        auto loop = engine_loop::create(stories_scheduler(32), *ex);
        REQUIRE(loop.ok());
        std::vector<request_spec> specs;
        for (size_t i = 0; i < cases.size(); ++i) {
            specs.push_back(greedy_spec("gen" + std::to_string(i), cases[i]));
            // The same prompts as embeddings: they share prefix blocks with the generations.
            if (with_embeddings)
                for (const auto& p : k_poolings)
                    specs.push_back(embed_spec("emb" + std::to_string(i) +
                                                   pooling_kind_name(p.type) +
                                                   std::to_string(p.normalize),
                                               cases[i].prompt_ids, p));
        }
        // A long embedding (several chunks of the 32-token budget) runs beside them.
        if (with_embeddings) specs.push_back(embed_spec("emb-long", prompts.back(), k_poolings[1]));
        return run_all(**loop, specs);
    };
    const run_result alone = generate(false);
    const run_result mixed = generate(true);
    for (size_t i = 0; i < cases.size(); ++i) {
        const std::string id = "gen" + std::to_string(i);
        CHECK(alone.tokens.at(id) == cases[i].greedy_ids);
        CHECK(mixed.tokens.at(id) == alone.tokens.at(id));
        CHECK(mixed.embeddings.count(id) == 0);
    }
    CHECK(mixed.embeddings.size() == cases.size() * k_poolings.size() + 1);
}

TEST_CASE("pooling: llm_engine returns the vector of a pooling request, normalized") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    actorlm::engine_config cfg;
    cfg.model_path = actorlm::test::shared_path("models/stories260K-hf");
    cfg.kv_cache_memory_bytes = 8 << 20;
    cfg.num_threads = 1;
    auto eng = llm_engine::create(cfg);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    actorlm::generate_request embed;
    embed.prompt = "Once upon a time";
    embed.params.pooling = pooling_params{};
    actorlm::generate_request gen;
    gen.prompt = "Once upon a time";
    gen.params.temperature = 0.0f;
    gen.params.max_tokens = 4;
    auto res = (*eng)->generate({embed, gen});
    REQUIRE(res.ok());
    const auto& e = (*res)[0];
    REQUIRE(e.outputs.size() == 1);
    CHECK(e.outputs[0].finish == actorlm::finish_reason::stop);
    CHECK(e.outputs[0].token_ids.empty());
    CHECK(e.outputs[0].text.empty());
    REQUIRE_FALSE(e.embedding.empty());
    double n2 = 0.0;
    for (float x : e.embedding) n2 += static_cast<double>(x) * x;
    CHECK(std::sqrt(n2) == doctest::Approx(1.0).epsilon(1e-5));
    CHECK((*res)[1].embedding.empty());
    CHECK((*res)[1].outputs[0].token_ids.size() == 4);

    // A pooling request gives one vector per prompt: n > 1 and prompt logprobs are refused.
    actorlm::generate_request bad = embed;
    bad.params.n = 2;
    CHECK_FALSE((*eng)->add_request(bad).ok());
    bad = embed;
    bad.params.prompt_logprobs = 1;
    CHECK_FALSE((*eng)->add_request(bad).ok());
}

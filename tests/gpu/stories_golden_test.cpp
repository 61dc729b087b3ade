// stories260K (GGUF, F32) and llama-2-tiny-random (F16 matrices), loaded by
// load_model, through the CUDA executor in exact FP32 mode: greedy ids must equal
// the golden files', and the first step's top-5 logits their values. Later steps are teacher-forced
// with the golden ids, so one divergence shows as one wrong id rather than a different
// continuation.
#include <doctest/doctest.h>

#include <simdjson.h>

#include <algorithm>
#include <string>

#include "backends/cuda/cuda_executor.hpp"
#include "backends/cuda/cuda_weights.hpp"
#include "cuda/paged_attention.cuh"
#include "gpu_test_support.hpp"
#include "model/model_loader.hpp"
#include "paged_sequences.hpp"
#include "support/reference_model.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::cuda;
using namespace actorlm::test;

namespace {

struct golden_case {
    std::vector<int32_t> prompt;
    std::vector<int32_t> greedy;
    std::vector<std::pair<int32_t, double>> first_top;  // step 0's top-5 (id, logit)
};

std::vector<golden_case> read_golden(const std::string& path) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.load(path);
    std::vector<golden_case> out;
    for (simdjson::dom::element c : doc["cases"].get_array()) {
        golden_case g;
        for (int64_t v : c["prompt_ids_with_bos"].get_array())
            g.prompt.push_back(static_cast<int32_t>(v));
        for (int64_t v : c["greedy_ids"].get_array()) g.greedy.push_back(static_cast<int32_t>(v));
        simdjson::dom::array steps = c["top5_logits_first_4_steps"].get_array();
        for (simdjson::dom::element pair : steps.at(0).get_array()) {
            simdjson::dom::array p = pair.get_array();
            g.first_top.emplace_back(static_cast<int32_t>(int64_t(p.at(0))), double(p.at(1)));
        }
        out.push_back(std::move(g));
    }
    return out;
}

// Runs every golden case through a fresh FP32 executor.
void run_cases(const model_config& config, const model_weights& weights,
               const std::vector<golden_case>& cases) {
    cuda_executor_options o;
    o.compute_type = dtype::f32;
    o.kv_num_blocks = 64;
    o.kv_block_size = 16;
    o.max_num_tokens = 256;
    o.max_num_logits = 4;
    auto ex = cuda_executor::create(config, weights, o);
    REQUIRE_MESSAGE(ex.ok(), ex.message());
    for (const golden_case& g : cases) {
        paged_sequences ps(o.kv_num_blocks, o.kv_block_size, 5);
        std::vector<int32_t> all = g.prompt;
        all.insert(all.end(), g.greedy.begin(), g.greedy.end());
        const int32_t s = ps.add(all);
        // First step through forward() to compare logits, the rest sampled on the device.
        std::vector<float> logits;
        REQUIRE((*ex)->forward(ps.step({{s, static_cast<int32_t>(g.prompt.size())}}), logits).ok());
        for (auto [id, value] : g.first_top)
            CHECK(logits[static_cast<size_t>(id)] == doctest::Approx(value).epsilon(1e-4));
        std::vector<int32_t> generated = {
            static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin())};
        while (generated.size() < g.greedy.size()) {
            auto ids = (*ex)->forward_sample(ps.step({{s, 1}}), {gpu_sampling_params{}});
            REQUIRE_MESSAGE(ids.ok(), ids.message());
            generated.push_back((*ids)[0]);
            // Teacher forcing keeps later steps comparable even after a mismatch.
        }
        CHECK(generated == g.greedy);
    }
}

}  // namespace

TEST_CASE("gpu: stories260K and llama-2-tiny greedy ids equal the golden files (FP32 mode)") {
    for (const std::string name : {"stories260K", "llama-2-tiny-random"}) {
        ACTORLM_REQUIRE_SHARED("models/" + name + ".gguf");
        ACTORLM_REQUIRE_SHARED("models/" + name + ".golden.json");
        ACTORLM_REQUIRE_GPU();
        const auto cases = read_golden(shared_path("models/" + name + ".golden.json"));
        REQUIRE(cases.size() >= 1);
        auto loaded = load_model(shared_path("models/" + name + ".gguf"));
        REQUIRE_MESSAGE(loaded.ok(), loaded.message());
        INFO(name);
        run_cases(loaded->config, loaded->weights, cases);
    }
}

TEST_CASE("gpu: the shared GGUF models pass the CUDA weight checks (host)") {
    for (const char* rel : {"models/stories260K.gguf", "models/llama-2-tiny-random.gguf"}) {
        ACTORLM_REQUIRE_SHARED(rel);
        auto loaded = load_model(shared_path(rel));
        REQUIRE_MESSAGE(loaded.ok(), loaded.message());
        const auto st = check_weights(loaded->config, loaded->weights);
        CHECK_MESSAGE(st.ok(), rel << ": " << (st.ok() ? "" : st.message()));
        CHECK(attention_tokens_per_item(static_cast<int32_t>(loaded->config.num_heads),
                                        static_cast<int32_t>(loaded->config.num_kv_heads)) > 0);
        CHECK(loaded->config.head_dim <= k_attention_max_head_dim);
    }
}

TEST_CASE("gpu: the double reference decoder reproduces the stories260K golden ids (host)") {
    // Validates the reference the executor tests compare against: one pass over
    // prompt + golden continuation, whose argmax at every position is the next id.
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    ACTORLM_REQUIRE_SHARED("models/stories260K.golden.json");
    auto loaded = load_model(shared_path("models/stories260K.gguf"));
    REQUIRE_MESSAGE(loaded.ok(), loaded.message());
    for (const golden_case& g : read_golden(shared_path("models/stories260K.golden.json"))) {
        std::vector<int32_t> all = g.prompt;
        all.insert(all.end(), g.greedy.begin(), g.greedy.end() - 1);
        const auto logits = reference_logits(loaded->config, loaded->weights, all);
        int mismatches = 0;
        for (size_t i = 0; i < g.greedy.size(); ++i) {
            const auto& row = logits[g.prompt.size() - 1 + i];
            mismatches += (std::max_element(row.begin(), row.end()) - row.begin()) != g.greedy[i];
        }
        CHECK(mismatches == 0);
        const auto& first = logits[g.prompt.size() - 1];
        for (auto [id, value] : g.first_top)
            CHECK(first[static_cast<size_t>(id)] == doctest::Approx(value).epsilon(1e-5));
    }
}

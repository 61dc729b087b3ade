// Real models against golden outputs of an independent reference forward pass:
// stories260K (GGUF and its Hugging Face conversion) must reproduce every greedy
// id and the first steps' top-5 logits; llama-2-tiny-random (F16, tiny argmax
// margins) must match logits within a tolerance and ids wherever the margin is clear.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>

#include "forward_driver.hpp"
#include "model/model_loader.hpp"
#include "support/golden_cases.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace {

std::unique_ptr<cpu_executor> executor_for(const std::string& path, kv_cache_spec spec) {
    auto model = load_model(path);
    REQUIRE_MESSAGE(model.ok(), (model.ok() ? std::string() : model.message()));
    cpu_executor_options opt;
    opt.num_threads = 2;
    auto ex = cpu_executor::create(model->config, model->weights, spec, opt);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? std::string() : ex.message()));
    return std::move(ex.value());
}

// Logits of the first `steps` greedy steps of one prompt, following the golden ids.
std::vector<std::vector<float>> teacher_forced_logits(cpu_executor& ex, const golden_case& g,
                                                      size_t steps) {
    std::vector<int32_t> tokens = g.prompt_ids;
    tokens.insert(tokens.end(), g.greedy_ids.begin(),
                  g.greedy_ids.begin() + static_cast<long>(steps - 1));
    block_allocator alloc(ex.kv_spec().num_blocks, 5);
    test_sequence s;
    s.tokens = tokens;
    const forward_batch b = make_batch({{&s, static_cast<int32_t>(tokens.size())}},
                                       ex.kv_spec().block_size, alloc, true);
    std::vector<float> logits;
    REQUIRE(ex.forward(b, logits).ok());
    std::vector<std::vector<float>> out;
    const int64_t v = ex.config().vocab_size;
    for (size_t i = 0; i < steps; ++i) {
        const size_t row = g.prompt_ids.size() - 1 + i;
        out.emplace_back(logits.begin() + static_cast<long>(row * v),
                         logits.begin() + static_cast<long>((row + 1) * v));
    }
    return out;
}

void check_stories(const std::string& model_path) {
    const auto cases = read_golden(shared_path("models/stories260K.golden.json"));
    REQUIRE(cases.size() == 4);
    auto ex = executor_for(model_path, {128, 16, dtype::f32});
    for (const golden_case& g : cases) {
        block_allocator alloc(128, 1);
        const auto ids = greedy_generate(*ex, {g.prompt_ids}, g.max_new, {1, 2}, {}, alloc);
        CHECK(ids[0] == g.greedy_ids);
        const auto logits = teacher_forced_logits(*ex, g, g.top5.size());
        for (size_t step = 0; step < g.top5.size(); ++step)
            for (const auto& [id, value] : g.top5[step]) {
                CAPTURE(step);
                CAPTURE(id);
                CHECK(std::abs(logits[step][static_cast<size_t>(id)] - value) < 1e-4);
            }
    }
}

}  // namespace

TEST_CASE("golden: stories260K GGUF reproduces the reference greedy ids and logits") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    check_stories(shared_path("models/stories260K.gguf"));
}

TEST_CASE("golden: stories260K Hugging Face directory reproduces the same ids and logits") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf/model.safetensors");
    check_stories(shared_path("models/stories260K-hf"));
}

TEST_CASE("golden: llama-2-tiny-random matches logits closely and ids where margins allow") {
    ACTORLM_REQUIRE_SHARED("models/llama-2-tiny-random.gguf");
    const auto cases = read_golden(shared_path("models/llama-2-tiny-random.golden.json"));
    REQUIRE(cases.size() == 2);
    auto ex = executor_for(shared_path("models/llama-2-tiny-random.gguf"), {16, 16, dtype::f32});
    const double tol = 2e-4;  // F16 weights: the golden values carry 5 decimals
    for (const golden_case& g : cases) {
        const auto logits = teacher_forced_logits(*ex, g, g.top5.size());
        for (size_t step = 0; step < g.top5.size(); ++step)
            for (const auto& [id, value] : g.top5[step])
                CHECK(std::abs(logits[step][static_cast<size_t>(id)] - value) < tol);
        // Greedy ids: equal, except that a divergence is allowed where the two
        // candidates' logits (following the golden prefix) are within the tolerance.
        block_allocator alloc(16, 1);
        const auto ids = greedy_generate(
            *ex, {g.prompt_ids}, static_cast<int32_t>(g.greedy_ids.size()), {1, 2}, {}, alloc);
        const size_t n = std::min(ids[0].size(), g.greedy_ids.size());
        size_t first_diff = 0;
        while (first_diff < n && ids[0][first_diff] == g.greedy_ids[first_diff]) ++first_diff;
        if (first_diff < g.greedy_ids.size()) {
            REQUIRE(first_diff < ids[0].size());
            const auto at = teacher_forced_logits(*ex, g, first_diff + 1).back();
            CHECK(std::abs(at[static_cast<size_t>(ids[0][first_diff])] -
                           at[static_cast<size_t>(g.greedy_ids[first_diff])]) < 2 * tol);
        }
        CHECK(first_diff >= g.top5.size());  // the first steps' margins are all clear
    }
}

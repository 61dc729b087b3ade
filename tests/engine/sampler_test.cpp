// Sampler behaviour per parameter: greedy, logit_bias, min_tokens, vLLM's
// penalty formulas, per-request seeds independent of the batch, raw logprobs.
#include <doctest/doctest.h>

#include <cmath>

#include "core/logits_processors.hpp"
#include "core/logprobs.hpp"
#include "core/sampler.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace {

sampling_row row_of(const sampling_params& p, std::span<const int32_t> prompt = {},
                    std::span<const int32_t> output = {}, std::span<const int32_t> eos = {}) {
    return sampling_row{&p, prompt, output, eos};
}

/// Samples from a copy (the sampler edits its rows in place).
std::vector<sample_result> sample_copy(sampler& s, std::vector<float> logits, int64_t v,
                                       std::span<const sampling_row> rows) {
    return s.sample(logits, v, rows);
}

}  // namespace

TEST_CASE("sampler: greedy takes the argmax, logit_bias and min_tokens change it") {
    sampler s;
    sampling_params p;
    p.temperature = 0.0f;
    std::vector<float> logits = {0.1f, 2.0f, 1.5f, -1.0f};
    std::vector<sampling_row> rows = {row_of(p)};
    CHECK(sample_copy(s, logits, 4, rows)[0].token_id == 1);

    sampling_params b = p;
    b.logit_bias = {{3, 5.0f}};
    rows = {row_of(b)};
    CHECK(sample_copy(s, logits, 4, rows)[0].token_id == 3);

    sampling_params m = p;
    m.min_tokens = 2;
    m.stop_token_ids = {2};
    std::vector<int32_t> eos = {1};
    std::vector<int32_t> one_out = {0};
    rows = {row_of(m, {}, one_out, eos)};  // 1 < min_tokens: EOS (1) and stop token (2) masked
    CHECK(sample_copy(s, logits, 4, rows)[0].token_id == 0);
    std::vector<int32_t> two_out = {0, 0};
    rows = {row_of(m, {}, two_out, eos)};
    CHECK(sample_copy(s, logits, 4, rows)[0].token_id == 1);
}

TEST_CASE("sampler: penalties follow vLLM's formulas") {
    std::vector<int32_t> scratch;
    sampling_params p;
    p.repetition_penalty = 2.0f;
    std::vector<float> l = {4.0f, -4.0f, 4.0f, 1.0f};
    std::vector<int32_t> prompt = {0, 0, 1};
    std::vector<int32_t> output = {1};
    apply_penalties(l, p, prompt, output, scratch);
    CHECK(l == std::vector<float>{2.0f, -8.0f, 4.0f, 1.0f});  // once per distinct token

    sampling_params f;
    f.frequency_penalty = 0.5f;
    f.presence_penalty = 1.0f;
    std::vector<float> g = {0.0f, 0.0f, 0.0f, 0.0f};
    std::vector<int32_t> out2 = {2, 2, 2, 3};
    std::vector<int32_t> prompt2 = {0};  // prompt tokens are not penalized by these two
    apply_penalties(g, f, prompt2, out2, scratch);
    CHECK(g[0] == 0.0f);
    CHECK(g[2] == doctest::Approx(-(0.5 * 3 + 1.0)));
    CHECK(g[3] == doctest::Approx(-(0.5 + 1.0)));
}

TEST_CASE("sampler: a seeded request draws the same tokens whatever else is in the batch") {
    sampling_params seeded;
    seeded.temperature = 1.0f;
    seeded.seed = 1234;
    sampling_params other;
    other.temperature = 1.0f;
    const int64_t v = 50;
    std::vector<float> row(v);
    for (int64_t i = 0; i < v; ++i) row[static_cast<size_t>(i)] = std::sin(static_cast<float>(i));

    std::vector<int32_t> alone, crowded;
    sampler s1(1), s2(99);
    for (int step = 0; step < 30; ++step) {
        std::vector<int32_t> out(alone.begin(), alone.end());
        std::vector<sampling_row> rows = {row_of(seeded, {}, out)};
        alone.push_back(sample_copy(s1, row, v, rows)[0].token_id);

        std::vector<int32_t> out2(crowded.begin(), crowded.end());
        std::vector<float> batch;
        for (int k = 0; k < 3; ++k) batch.insert(batch.end(), row.begin(), row.end());
        std::vector<sampling_row> rows2 = {row_of(other), row_of(seeded, {}, out2), row_of(other)};
        crowded.push_back(s2.sample(batch, v, rows2)[1].token_id);
    }
    CHECK(alone == crowded);
    // Not a constant stream: different output indices give different draws.
    CHECK(std::count(alone.begin(), alone.end(), alone[0]) < 30);
    CHECK(sampler::seeded_uniform(1, 0) != sampler::seeded_uniform(1, 1));
    CHECK(sampler::seeded_uniform(1, 0) != sampler::seeded_uniform(2, 0));
}

TEST_CASE("sampler: logprobs are the raw model logprobs with the sampled token's rank") {
    sampler s;
    sampling_params p;
    p.temperature = 0.0f;
    p.logprobs = 2;
    p.logit_bias = {{0, 10.0f}};  // makes token 0 the greedy pick, but logprobs stay raw
    std::vector<float> logits = {0.0f, 3.0f, 1.0f, 2.0f};
    std::vector<sampling_row> rows = {row_of(p)};
    auto r = sample_copy(s, logits, 4, rows);
    REQUIRE(r[0].logprobs);
    const auto& lp = *r[0].logprobs;
    CHECK(r[0].token_id == 0);
    double z = 0;
    for (float x : logits) z += std::exp(x);
    CHECK(lp.token_ids == std::vector<int32_t>{0, 1, 3});
    CHECK(lp.logprobs[0] == doctest::Approx(0.0 - std::log(z)));
    CHECK(lp.logprobs[1] == doctest::Approx(3.0 - std::log(z)));
    CHECK(lp.rank == 4);
    sampling_params none;
    rows = {row_of(none)};
    CHECK_FALSE(sample_copy(s, logits, 4, rows)[0].logprobs.has_value());
}

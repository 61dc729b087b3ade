// The sampler's structured-output mask: applied before every other processor (a masked
// token is never drawn, greedy or random, whatever its logit, bias or penalty), logprobs
// describe the masked distribution, and when min_tokens masks the only allowed token (EOS
// where the grammar must end) the grammar's token is still taken.
#include <doctest/doctest.h>

#include <cmath>

#include "core/logits_processors.hpp"
#include "core/sampler.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace structured_sampler_test {

std::vector<uint32_t> allow(std::initializer_list<int32_t> ids, int64_t vocab) {
    std::vector<uint32_t> mask(static_cast<size_t>((vocab + 31) / 32), 0);
    for (int32_t id : ids) mask[static_cast<size_t>(id) >> 5] |= 1u << (id & 31);
    return mask;
}

}  // namespace structured_sampler_test

using namespace structured_sampler_test;

TEST_CASE("structured sampler: the token mask comes before every other processor") {
    constexpr int64_t vocab = 70;
    std::vector<float> row(vocab, 0.0f);
    apply_token_bitmask(row, allow({3, 40, 69}, vocab));
    for (int64_t i = 0; i < vocab; ++i)
        CHECK(std::isinf(row[static_cast<size_t>(i)]) == !(i == 3 || i == 40 || i == 69));
    // A mask shorter than the row (the tokenizer's vocabulary below the logits width)
    // forbids the rest.
    std::vector<float> wide(100, 1.0f);
    apply_token_bitmask(wide, allow({5}, 64));
    CHECK(wide[5] == 1.0f);
    CHECK(std::isinf(wide[99]));

    sampler s(1);
    actorlm::sampling_params p;
    p.logit_bias = {{7, 100.0f}};  // strongly prefers a forbidden token
    p.logprobs = 2;
    const std::vector<uint32_t> mask = allow({3, 40}, vocab);
    for (float temperature : {0.0f, 1.0f}) {
        p.temperature = temperature;
        for (int trial = 0; trial < 50; ++trial) {
            std::vector<float> logits(vocab);
            for (int64_t i = 0; i < vocab; ++i) logits[static_cast<size_t>(i)] = static_cast<float>((i * 37 + trial) % 11);
            const sampling_row rows[] = {{&p, {}, {}, {}, mask}};
            auto out = s.sample(logits, vocab, rows);
            CHECK((out[0].token_id == 3 || out[0].token_id == 40));
            REQUIRE(out[0].logprobs.has_value());
            const position_logprobs& lp = *out[0].logprobs;
            REQUIRE(lp.token_ids.size() == 3);  // sampled, then the top 2
            for (size_t k = 1; k < lp.token_ids.size(); ++k) {
                CHECK((lp.token_ids[k] == 3 || lp.token_ids[k] == 40));
                CHECK(std::isfinite(lp.logprobs[k]));
            }
        }
    }
}

TEST_CASE("structured sampler: min_tokens cannot push a sequence off its grammar") {
    constexpr int64_t vocab = 40;
    sampler s(2);
    actorlm::sampling_params p;
    p.temperature = 1.0f;
    p.min_tokens = 10;
    const std::vector<int32_t> eos{2};
    const std::vector<uint32_t> only_eos = allow({2}, vocab);
    std::vector<float> logits(vocab, 0.5f);
    const sampling_row rows[] = {{&p, {}, {}, eos, only_eos}};
    auto out = s.sample(logits, vocab, rows);
    CHECK(out[0].token_id == 2);
}

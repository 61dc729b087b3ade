// sampler implementation: rows are independent, processed in order.
#include "core/sampler.hpp"

#include <limits>

#include "core/logits_processors.hpp"
#include "core/logprobs.hpp"
#include "plugins/plugin_logits_processors.hpp"
#include "base/check.hpp"

namespace actorlm::core {
namespace {

uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

double to_unit(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

// When min_tokens (EOS masked) leaves no token the grammar allows, the sequence takes the
// grammar's first allowed token rather than one it forbids.
bool first_allowed_if_all_masked(std::span<const float> l, std::span<const uint32_t> allowed,
                                 sample_result& out) {
    for (float x : l)
        if (x != -std::numeric_limits<float>::infinity()) return false;
    for (size_t w = 0; w < allowed.size(); ++w)
        if (allowed[w] != 0 && w * 32 < l.size()) {
            out.token_id = static_cast<int32_t>(w * 32 + static_cast<size_t>(__builtin_ctz(allowed[w])));
            return true;
        }
    return false;
}

}  // namespace

double sampler::seeded_uniform(uint64_t seed, int64_t output_index) {
    return to_unit(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(output_index)));
}

std::vector<sample_result> sampler::sample(std::span<float> logits, int64_t vocab_size,
                                           std::span<const sampling_row> rows) {
    const auto v = static_cast<size_t>(vocab_size);
    ACTORLM_CHECK(logits.size() >= rows.size() * v, "sampler: %zu logits for %zu rows of %zu",
                  logits.size(), rows.size(), v);
    std::vector<sample_result> out(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
        const sampling_row& row = rows[r];
        const actorlm::sampling_params& p = *row.params;
        std::span<float> l = logits.subspan(r * v, v);
        const auto num_out = static_cast<int32_t>(row.output_token_ids.size());

        // The grammar's mask comes first, so logprobs describe what could be sampled.
        const bool constrained = !row.allowed_tokens.empty();
        if (constrained) apply_token_bitmask(l, row.allowed_tokens);
        if (p.logprobs >= 0) log_softmax(l, logprobs_scratch_);  // raw model output

        apply_min_tokens(l, p, num_out, row.eos_token_ids);
        apply_logit_bias(l, p);
        apply_penalties(l, p, row.prompt_token_ids, row.output_token_ids, counts_scratch_);
        if (plugins_ && row.plugin_slot >= 0)
            plugins_->apply(l, row.plugin_slot, row.output_token_ids, false);
        if (constrained && first_allowed_if_all_masked(l, row.allowed_tokens, out[r])) {
            if (p.logprobs >= 0)
                out[r].logprobs = gather_logprobs(logprobs_scratch_, out[r].token_id, p.logprobs);
            continue;
        }

        int32_t tok;
        if (p.temperature < 1e-5f) {
            tok = argmax(l);
        } else {
            apply_temperature(l, p.temperature);
            if (plugins_ && row.plugin_slot >= 0)
                plugins_->apply(l, row.plugin_slot, row.output_token_ids, true);
            apply_min_p(l, p.min_p);
            apply_top_k_top_p(l, p.top_k, p.top_p);
            const double u = p.seed ? seeded_uniform(*p.seed, num_out) : to_unit(rng_());
            tok = sample_from_logits(l, u);
        }
        out[r].token_id = tok;
        if (p.logprobs >= 0) out[r].logprobs = gather_logprobs(logprobs_scratch_, tok, p.logprobs);
    }
    return out;
}

}  // namespace actorlm::core

// sampling_params_check implementation.
#include "core/sampling_params_check.hpp"

#include <cmath>

namespace actorlm::core {

status validate_sampling_params(const actorlm::sampling_params& p, int64_t vocab_size) {
    if (p.n < 1) return make_error("n must be at least 1, got %d", p.n);
    if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature))
        return make_error("temperature must be a finite number >= 0, got %g", p.temperature);
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
        return make_error("top_p must be in (0, 1], got %g", p.top_p);
    if (p.top_k < -1)
        return make_error("top_k must be -1 (off), 0 (off) or positive, got %d", p.top_k);
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f))
        return make_error("min_p must be in [0, 1], got %g", p.min_p);
    if (!(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f))
        return make_error("presence_penalty must be in [-2, 2], got %g", p.presence_penalty);
    if (!(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f))
        return make_error("frequency_penalty must be in [-2, 2], got %g", p.frequency_penalty);
    if (!(p.repetition_penalty > 0.0f && p.repetition_penalty <= 2.0f))
        return make_error("repetition_penalty must be in (0, 2], got %g", p.repetition_penalty);
    if (p.max_tokens == 0 || p.max_tokens < -1)
        return make_error("max_tokens must be at least 1 (or -1 for no limit), got %d",
                          p.max_tokens);
    if (p.min_tokens < 0) return make_error("min_tokens must be >= 0, got %d", p.min_tokens);
    if (p.max_tokens > 0 && p.min_tokens > p.max_tokens)
        return make_error("min_tokens (%d) must not exceed max_tokens (%d)", p.min_tokens,
                          p.max_tokens);
    if (p.logprobs < -1 || p.logprobs > k_max_logprobs)
        return make_error("logprobs must be in [0, %d] (or -1 for none), got %d", k_max_logprobs,
                          p.logprobs);
    if (p.prompt_logprobs < -1 || p.prompt_logprobs > k_max_logprobs)
        return make_error("prompt_logprobs must be in [0, %d] (or -1 for none), got %d",
                          k_max_logprobs, p.prompt_logprobs);
    if (vocab_size > 0) {
        for (const auto& [tok, bias] : p.logit_bias) {
            if (tok < 0 || tok >= vocab_size)
                return make_error("logit_bias token id %d is outside the vocabulary [0, %lld)", tok,
                                  static_cast<long long>(vocab_size));
            if (!std::isfinite(bias))
                return make_error("logit_bias for token %d is not finite", tok);
        }
        for (int32_t tok : p.stop_token_ids)
            if (tok < 0 || tok >= vocab_size)
                return make_error("stop_token_ids entry %d is outside the vocabulary [0, %lld)",
                                  tok, static_cast<long long>(vocab_size));
    }
    return status::success();
}

}  // namespace actorlm::core

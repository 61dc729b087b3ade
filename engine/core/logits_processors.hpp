// logits_processors: the per-row transforms the sampler applies to one row of
// logits, in vLLM v1's order. Before the greedy/random split (they change the
// argmax): min_tokens masking of stop tokens, logit_bias, repetition / frequency
// / presence penalties. Random sampling only: temperature, min-p, top-k, top-p
// (masking with -inf). Pure functions over a std::span row; no state.
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace actorlm::core {

/// Structured outputs: tokens whose bit is clear in `allowed` (bit i of word i / 32), and
/// those beyond it, get -inf. Applied before every other processor.
void apply_token_bitmask(std::span<float> logits, std::span<const uint32_t> allowed);

/// While fewer than min_tokens were generated, EOS and stop_token_ids get -inf.
void apply_min_tokens(std::span<float> logits, const actorlm::sampling_params& p,
                      int32_t num_output_tokens, std::span<const int32_t> eos_token_ids);

/// Adds each (token, bias) of p.logit_bias.
void apply_logit_bias(std::span<float> logits, const actorlm::sampling_params& p);

/// vLLM's penalties: repetition over prompt+output tokens (positive logits divided,
/// negative multiplied), frequency (× count) and presence (× seen) over output tokens.
/// `scratch` is reused between calls to avoid allocating a vocab-sized counter per row.
void apply_penalties(std::span<float> logits, const actorlm::sampling_params& p,
                     std::span<const int32_t> prompt_token_ids,
                     std::span<const int32_t> output_token_ids, std::vector<int32_t>& scratch);

/// logits /= temperature (temperature > 0).
void apply_temperature(std::span<float> logits, float temperature);

/// Masks tokens whose probability is below min_p × the top probability.
void apply_min_p(std::span<float> logits, float min_p);

/// Keeps the top_k largest logits (ties at the boundary are kept, like vLLM) and,
/// of those, the smallest set of most likely tokens whose probability sums to at
/// least top_p; masks the rest with -inf. top_k <= 0 and top_p >= 1 are no-ops.
void apply_top_k_top_p(std::span<float> logits, int32_t top_k, float top_p);

/// Index of the largest logit (the lowest index among equal maxima).
int32_t argmax(std::span<const float> logits);

/// Draws an index from softmax(logits) using the uniform draw u in [0, 1).
int32_t sample_from_logits(std::span<const float> logits, double u);

}  // namespace actorlm::core

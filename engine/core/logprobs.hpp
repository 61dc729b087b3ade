// logprobs: log-softmax of one row of logits and the entry the API returns for a
// position: the chosen token's logprob and 1-based rank, then the top-k tokens.
// vLLM v1's default ("raw_logprobs"): computed from the model's raw logits,
// before penalties, bias and temperature. Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/model_runner_output.hpp"

namespace actorlm::core {

/// log_softmax(logits) into `out` (resized to logits.size()).
void log_softmax(std::span<const float> logits, std::vector<float>& out);

/// The entry for `token_id` plus the `top_k` most likely tokens (descending),
/// from a row of log-probabilities.
position_logprobs gather_logprobs(std::span<const float> logprobs, int32_t token_id, int32_t top_k);

}  // namespace actorlm::core

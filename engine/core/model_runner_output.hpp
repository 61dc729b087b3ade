// model_runner_output: what a worker returns for one scheduler_output (vLLM's
// ModelRunnerOutput): per scheduled request, in batch order, the sampled token
// ids (empty for a prefill chunk that does not reach the prompt's end) and the
// requested logprobs. Value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kv/kv_connector_output.hpp"

namespace actorlm::core {

/// Logprobs at one position: the chosen token first, then the top-k by logprob.
struct position_logprobs {
    std::vector<int32_t> token_ids;  ///< [0] = sampled (or prompt) token, then top-k
    std::vector<float> logprobs;
    int32_t rank = 0;  ///< 1-based rank of token_ids[0] in the vocabulary
};

struct model_runner_output {
    std::vector<std::string> req_ids;
    std::vector<std::vector<int32_t>> sampled_token_ids;
    /// Per request: one entry per sampled token, or empty when logprobs are off.
    std::vector<std::vector<position_logprobs>> logprobs;
    /// Per request: entries for the prompt positions this step computed (the very
    /// first prompt token has none: std::nullopt), or empty when off.
    std::vector<std::vector<std::optional<position_logprobs>>> prompt_logprobs;
    /// Per request: the pooled vector of a pooling request whose prompt ended this step
    /// (vLLM's pooler_output), empty otherwise; the whole list is empty when no request
    /// of the step pooled.
    std::vector<std::vector<float>> pooler_output;
    /// The KV connector's completed loads and saves (empty without a connector).
    kv::kv_connector_output kv_connector_output;
};

}  // namespace actorlm::core

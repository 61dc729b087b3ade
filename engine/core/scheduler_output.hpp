// scheduler_output: the plain data one schedule() hands to a worker (vLLM's
// sched/output.py). New requests travel in full; running ones only by what
// changed. Batch order: scheduled_cached_reqs, then scheduled_new_reqs.
// Value type; safe to copy or move across threads/actors.
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mm_feature.hpp"

namespace actorlm::kv {
struct kv_connector_metadata;
}  // namespace actorlm::kv

namespace actorlm::core {

/// A scheduled position whose token a step still in flight samples (async scheduling):
/// the worker fills it with the token it sampled there itself.
inline constexpr int32_t k_placeholder_token = -1;

/// A request the worker has not seen: everything it needs.
struct new_request_data {
    std::string req_id;
    std::vector<int32_t> prompt_token_ids;
    actorlm::sampling_params params;
    std::vector<int32_t> eos_token_ids;  ///< masked by the sampler while under min_tokens
    std::vector<int32_t> block_ids;      ///< the whole block table
    int32_t num_computed_tokens = 0;     ///< prefix-cache hit; the step starts at this position
    int32_t num_scheduled_tokens = 0;
    bool will_sample = false;  ///< this step reaches the end of the prompt
    /// Tokens it produced before it came here (a resumed request), after the prompt.
    std::vector<int32_t> output_token_ids;
    /// Its multimodal inputs: which encoder output fills which prompt positions.
    std::vector<mm_feature> mm_features;
};

/// A request the worker has seen before: only the change.
struct cached_request_data {
    std::string req_id;
    /// It was preempted and runs again: new_block_ids replaces the block table.
    bool resumed_from_preemption = false;
    /// Token ids at the scheduled positions [num_computed_tokens, + num_scheduled_tokens);
    /// k_placeholder_token where a step in flight samples it.
    std::vector<int32_t> new_token_ids;
    std::vector<int32_t> new_block_ids;  ///< appended to its block table (unless resumed)
    int32_t num_computed_tokens = 0;     ///< before this step
    int32_t num_output_tokens = 0;       ///< tokens generated so far
    int32_t num_scheduled_tokens = 0;
    bool will_sample = false;
};

struct scheduler_output {
    std::vector<cached_request_data> scheduled_cached_reqs;
    std::vector<new_request_data> scheduled_new_reqs;
    int32_t total_num_scheduled_tokens = 0;
    /// Finished or aborted since the previous schedule(): workers drop their state.
    std::vector<std::string> finished_req_ids;
    /// Preempted by this schedule(): their blocks are gone; they rerun later.
    std::vector<std::string> preempted_req_ids;
    /// Multimodal inputs to run through the encoder before this step's forward, per
    /// request: indices into its mm_features (vLLM's scheduled_encoder_inputs).
    std::map<std::string, std::vector<int32_t>> scheduled_encoder_inputs;
    /// Encoder outputs the scheduler evicted: workers drop them (vLLM's
    /// free_encoder_mm_hashes).
    std::vector<std::string> free_encoder_mm_hashes;
    /// What the workers' KV connector loads and saves this step (null: nothing).
    std::shared_ptr<const kv::kv_connector_metadata> kv_connector_metadata;

    int32_t num_scheduled_reqs() const {
        return static_cast<int32_t>(scheduled_cached_reqs.size() + scheduled_new_reqs.size());
    }
    /// Draft tokens to verify, per request (vLLM's scheduled_spec_decode_tokens): they are
    /// the last entries of the request's scheduled tokens (and of its new_token_ids), so
    /// its logits are needed at each of them and at the token before them.
    std::map<std::string, std::vector<int32_t>> scheduled_spec_decode_tokens;

    /// Tokens scheduled for `req_id` (0 if it is not in this step); linear search.
    int32_t num_scheduled_tokens(const std::string& req_id) const {
        for (const auto& r : scheduled_cached_reqs)
            if (r.req_id == req_id) return r.num_scheduled_tokens;
        for (const auto& r : scheduled_new_reqs)
            if (r.req_id == req_id) return r.num_scheduled_tokens;
        return 0;
    }
    bool empty() const { return num_scheduled_reqs() == 0; }
};

}  // namespace actorlm::core

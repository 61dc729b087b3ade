// request: the scheduler's state of one sequence (vLLM's v1 Request): prompt and
// output tokens, how many tokens have K/V computed, status, priority, sampling
// params, and the hashes of its full blocks (extended as tokens arrive).
// Single-threaded (owned by scheduler). Invariants: num_computed_tokens <=
// num_tokens() + num_output_placeholders; block_hashes covers exactly num_tokens() /
// block_size blocks.
#pragma once

#include <actorlm/engine.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/block_hash.hpp"
#include "core/mm_feature.hpp"

namespace actorlm::core {

enum class request_status {
    waiting,
    running,
    preempted,
    /// Admitted with blocks allocated; a KV connector is loading part of its
    /// prefix asynchronously (vLLM's WAITING_FOR_REMOTE_KVS). Not scheduled until done.
    waiting_for_remote_kvs,
    finished_stopped,        ///< EOS, a stop token, or a stop string (finish_request)
    finished_length_capped,  ///< max_tokens or max_model_len reached
    finished_aborted,
    finished_ignored,  ///< rejected (never ran)
    finished_error,    ///< the worker failed while running it
};

const char* request_status_name(request_status s);
inline bool is_finished(request_status s) { return s >= request_status::finished_stopped; }
/// The public finish reason of a finished status (none while unfinished).
actorlm::finish_reason to_finish_reason(request_status s);

class request {
public:
    /// `block_size` > 0 turns on block hashing (for prefix caching); the first
    /// block's parent is `hash_root` (the model's, see model_root_block_hash).
    request(std::string request_id, std::vector<int32_t> prompt_token_ids,
            actorlm::sampling_params params, std::vector<int32_t> eos_token_ids, int32_t block_size,
            int32_t priority = 0, double arrival_time = 0.0, std::string cache_salt = {},
            block_hash hash_root = root_block_hash(), std::vector<mm_feature> mm_features = {});

    const std::string& id() const { return id_; }
    std::span<const int32_t> prompt_token_ids() const {
        return {all_token_ids_.data(), static_cast<size_t>(num_prompt_tokens_)};
    }
    std::span<const int32_t> output_token_ids() const {
        return std::span<const int32_t>(all_token_ids_)
            .subspan(static_cast<size_t>(num_prompt_tokens_));
    }
    std::span<const int32_t> all_token_ids() const { return all_token_ids_; }
    int32_t num_prompt_tokens() const { return num_prompt_tokens_; }
    int32_t num_tokens() const { return static_cast<int32_t>(all_token_ids_.size()); }
    int32_t num_output_tokens() const { return num_tokens() - num_prompt_tokens_; }

    /// Tokens whose K/V is in the cache (or scheduled to be by the current step).
    int32_t num_computed_tokens = 0;
    /// Tokens that steps in flight will sample and the scheduler has not received yet
    /// (async scheduling: vLLM's num_output_placeholders); their positions are scheduled
    /// as k_placeholder_token, which the worker fills from its own last output.
    int32_t num_output_placeholders = 0;
    /// Prompt tokens served by the prefix cache when the request first ran.
    int32_t num_cached_tokens = -1;
    request_status status = request_status::waiting;
    int32_t num_preemptions = 0;
    /// Why it stopped: the stop token id or stop string, as text; empty otherwise.
    std::string stop_reason;
    /// When it entered the scheduler, and the seconds until it was first scheduled
    /// (-1 until then); reported once, with its first output (vLLM's queue time).
    std::chrono::steady_clock::time_point queued_at = std::chrono::steady_clock::now();
    double queued_seconds = -1.0;
    bool queue_time_reported = false;
    /// Ending for a live migration: a KV connector that hands KV to other engines keeps
    /// its computed blocks for the engine that continues it.
    bool hand_over_kv = false;

    int32_t priority() const { return priority_; }
    double arrival_time() const { return arrival_time_; }
    const actorlm::sampling_params& params() const { return params_; }
    const std::vector<int32_t>& eos_token_ids() const { return eos_token_ids_; }
    const std::string& cache_salt() const { return cache_salt_; }
    const std::vector<block_hash>& block_hashes() const { return block_hashes_; }
    /// Its multimodal inputs in prompt order (checked by the scheduler on admission).
    const std::vector<mm_feature>& mm_features() const { return mm_features_; }
    /// max_tokens after resolving -1 (unbounded: capped only by max_model_len).
    int32_t max_tokens() const;

    /// Appends sampled tokens and hashes any block they complete.
    void append_output_tokens(std::span<const int32_t> tokens);

private:
    std::string id_;
    std::vector<int32_t> all_token_ids_;
    int32_t num_prompt_tokens_;
    actorlm::sampling_params params_;
    std::vector<int32_t> eos_token_ids_;
    int32_t block_size_;
    int32_t priority_;
    double arrival_time_;
    std::string cache_salt_;
    block_hash hash_root_;
    std::vector<mm_feature> mm_features_;
    std::vector<block_hash> block_hashes_;
};

}  // namespace actorlm::core

namespace actorlm::core {

/// vLLM's check_stop after appending a token: the length cap (max_model_len or
/// max_tokens) first, then EOS (unless ignore_eos) and stop_token_ids, both only
/// once min_tokens are out. Sets status (and stop_reason) and returns true if done.
bool check_stop(request& req, int32_t max_model_len);

}  // namespace actorlm::core

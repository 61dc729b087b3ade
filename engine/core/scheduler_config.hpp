// scheduler_config: the scheduler's knobs (vLLM's SchedulerConfig + CacheConfig
// fields the core needs). Plain data; scheduler::create validates it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/block_hash.hpp"
#include "core/request_queue.hpp"
#include "core/sliding_window_blocks.hpp"
#include "core/speculative_config.hpp"

namespace actorlm::core {

struct scheduler_config {
    int32_t num_blocks = 0;                 ///< KV blocks in the pool
    int32_t block_size = 16;                ///< tokens per block
    int32_t max_model_len = 2048;           ///< prompt + output tokens per sequence
    int32_t max_num_seqs = 256;             ///< running requests at most
    int32_t max_num_batched_tokens = 2048;  ///< tokens per step (the unified budget)
    /// A prefill takes at most this many tokens per step (0 = no limit), so long
    /// prompts do not crowd out short ones.
    int32_t long_prefill_token_threshold = 0;
    bool enable_chunked_prefill = true;
    bool enable_prefix_caching = true;
    /// Record the device prefix cache's changes as KV events (vLLM's
    /// kv_events_config.enable_kv_cache_events); off costs nothing.
    bool enable_kv_cache_events = false;
    /// One entry per KV-cache group (model/kv_cache_layout.hpp): the group's sliding window,
    /// whose blocks the KV cache frees once they left it, or 0 for full attention. One group
    /// unless engine_plan gives a model that mixes both its groups.
    std::vector<int32_t> kv_group_windows = {0};
    scheduling_policy policy = scheduling_policy::fcfs;
    int64_t vocab_size = 0;  ///< for validating token ids; 0 = unknown
    /// Parent of every request's first block hash: the model's identity, so blocks
    /// offloaded by one model are never served to another (model_root_block_hash).
    block_hash hash_root = root_block_hash();
    /// Encoder output embeddings computed per step at most (vLLM's
    /// max_num_encoder_input_tokens) and kept at most (encoder_cache_size); 0 =
    /// max_num_batched_tokens. One multimodal input must fit both.
    int32_t max_num_encoder_input_tokens = 0;
    int32_t encoder_cache_size = 0;
    /// Speculative decoding with the n-gram proposer (off unless num_speculative_tokens > 0).
    speculative_config speculative;
    int32_t encoder_budget() const {
        return max_num_encoder_input_tokens > 0 ? max_num_encoder_input_tokens
                                                : max_num_batched_tokens;
    }
    /// Blocks one max_model_len request holds at most: each group's whole table, or under a
    /// window the blocks its window and one step's chunk span.
    int32_t max_blocks_per_request() const {
        int64_t n = 0;
        for (int32_t w : kv_group_windows)
            n += core::max_blocks_per_request(max_model_len, block_size, w, max_num_batched_tokens);
        return static_cast<int32_t>(std::min<int64_t>(n, INT32_MAX));
    }
    /// Whether some group frees blocks, so the pool reserves one as the null block.
    bool frees_kv_blocks() const { return any_group_frees_blocks(kv_group_windows); }
    int32_t encoder_cache_tokens() const {
        return encoder_cache_size > 0 ? encoder_cache_size : max_num_batched_tokens;
    }
};

}  // namespace actorlm::core

// batch_builder: lays out one step's scheduled requests as a forward_batch in
// vLLM's flattened layout (token ids, positions, query_start_loc, seq_lens,
// slot_mapping from block tables, padded block_tables, logits_indices, and M-RoPE
// positions when a row has them) and records which logits row serves which purpose (a
// sample or a prompt logprob).
// Pure function of its inputs; no state.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/mrope_positions.hpp"
#include "model/forward_batch.hpp"

namespace actorlm::core {

/// One scheduled request as the worker sees it.
struct batch_row {
    std::span<const int32_t> token_ids;  ///< at least num_computed + num_scheduled known tokens
    std::span<const int32_t> block_ids;  ///< its block table
    int32_t num_computed_tokens = 0;
    int32_t num_scheduled_tokens = 0;
    int32_t num_prompt_tokens = 0;
    bool will_sample = false;
    bool wants_prompt_logprobs = false;
    /// An M-RoPE model's prompt with images: its rotary positions. When any row has them the
    /// batch gets mrope_positions for every token (three equal positions for the others).
    const mrope_prompt_positions* mrope = nullptr;
    /// The last this many scheduled tokens are drafts (speculative decoding): with
    /// will_sample, logits are wanted at each of them and at the token before them.
    int32_t num_draft_tokens = 0;
};

/// What a logits row is for.
struct logits_use {
    int32_t row = 0;       ///< index into the batch_rows
    int32_t position = 0;  ///< the token position whose logits these are
    bool sample = false;   ///< true: sample (or verify) the next token; false: prompt logprob of position + 1
};

struct built_batch {
    forward_batch batch;
    std::vector<logits_use> uses;  ///< parallel to batch.logits_indices
};

/// Builds the batch; `block_size` maps positions to slots. With `num_kv_groups` > 1 each
/// block table holds that many blocks per block index (kv_cache_manager.hpp) and
/// slot_mapping holds the first group's slots.
built_batch build_forward_batch(std::span<const batch_row> rows, int32_t block_size,
                                int32_t num_kv_groups = 1);

}  // namespace actorlm::core

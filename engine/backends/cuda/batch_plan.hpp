// batch_plan: host-side checks of a forward_batch against the model and the KV
// cache, and its packing into one blob (token ids, positions, slots, block
// tables, attention work items, logits rows) that is copied to the device in a
// single transfer per step. Pure C++ (no CUDA calls), so it is tested anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cuda/paged_attention.cuh"
#include "model/forward_batch.hpp"
#include "model/model_config.hpp"
#include "model/model_executor.hpp"
#include "base/result.hpp"

namespace actorlm::cuda {

struct batch_plan {
    std::vector<uint8_t> blob;    // the packed arrays below, 16-byte aligned sections
    size_t off_token_ids = 0;     // int32 [num_tokens]
    size_t off_positions = 0;     // int32 [num_tokens]
    size_t off_slots = 0;         // int64 [num_tokens]
    size_t off_block_tables = 0;  // int32 [num_seqs * max_blocks_per_seq]
    size_t off_items = 0;         // attention_work_item [num_items]
    size_t off_logits = 0;        // int32 [num_logits]
    int32_t num_tokens = 0;
    int32_t num_seqs = 0;
    int32_t num_items = 0;
    int32_t num_logits = 0;
    int32_t max_blocks_per_seq = 0;  // row length of the block tables
    int32_t max_keys = 0;            // longest context any token of the batch attends to

    /// Validates `batch` (sizes agree, ids < vocab, positions < seq_lens, block ids <
    /// num_blocks, each slot = the block-table slot of its position, logits indices
    /// in range) and packs it. tokens_per_item comes from attention_tokens_per_item.
    /// The error names the first inconsistency.
    static result<batch_plan> make(const forward_batch& batch, const model_config& config,
                                   const kv_cache_spec& kv, int32_t tokens_per_item);
};

}  // namespace actorlm::cuda

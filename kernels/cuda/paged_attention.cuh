// Paged attention over the KV cache for decode tokens and prefill chunks in one
// launch: every query token attends causally to keys [0, position] of its own
// sequence (or, with a sliding window, to its last sliding_window keys), read
// through the sequence's block table. GQA: one work item holds
// the query heads of one KV head for up to tokens_per_item tokens, so each K/V
// tile is read once per item. FP32 online softmax; optional split over the keys
// (flash-decoding) when there are too few items to fill the GPU.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "base/dtype.hpp"
#include "base/result.hpp"

namespace actorlm::cuda {

/// Query rows one work item holds (tokens_per_item * group <= this).
inline constexpr int32_t k_attention_item_rows = 16;
/// Keys per shared-memory tile.
inline constexpr int32_t k_attention_tile_keys = 32;
/// Largest head_dim the kernel holds in registers.
inline constexpr int32_t k_attention_max_head_dim = 256;

/// Consecutive query tokens of one sequence processed by one block (per KV head).
struct attention_work_item {
    int32_t seq = 0;          // row of block_tables
    int32_t first_token = 0;  // index into the batch's tokens
    int32_t num_tokens = 0;   // <= attention_tokens_per_item(...)
    int32_t num_keys = 0;     // keys the last (largest-position) token sees = position + 1
};

/// How many tokens one work item can hold for this GQA group size; 0 when the group
/// (num_heads / num_kv_heads) exceeds k_attention_item_rows.
inline int32_t attention_tokens_per_item(int32_t num_heads, int32_t num_kv_heads) {
    if (num_kv_heads <= 0 || num_heads % num_kv_heads != 0) return 0;
    const int32_t group = num_heads / num_kv_heads;
    return group > k_attention_item_rows ? 0 : k_attention_item_rows / group;
}

struct paged_attention_args {
    dtype type = dtype::bf16;  // q, caches and out
    const void* q = nullptr;   // token t, head h at q + t * q_token_stride + h * head_dim
    int64_t q_token_stride = 0;
    const void* k_cache = nullptr;  // [num_blocks][block_size][num_kv_heads][head_dim]
    const void* v_cache = nullptr;
    void* out = nullptr;  // token t, head h at out + t * out_token_stride + h * head_dim
    int64_t out_token_stride = 0;
    const int32_t* positions = nullptr;     // [num_tokens]
    const int32_t* block_tables = nullptr;  // [num_seqs][max_blocks_per_seq]
    int32_t max_blocks_per_seq = 0;
    int32_t block_size = 0;
    const attention_work_item* items = nullptr;  // device
    int32_t num_items = 0;
    int32_t num_tokens = 0;
    int32_t num_heads = 0;
    int32_t num_kv_heads = 0;
    int32_t head_dim = 0;
    float scale = 1.0f;  // usually 1 / sqrt(head_dim)
    /// Sliding window: a token at position p attends to keys [p - sliding_window + 1, p]
    /// (transformers / vLLM / llama.cpp standard SWA); 0 = the whole causal context.
    int32_t sliding_window = 0;
    int32_t num_splits = 1;            // key splits; > 1 needs split_workspace
    float* split_workspace = nullptr;  // num_tokens * num_heads * num_splits * (head_dim + 2)
};

/// Floats of split workspace a launch with these sizes needs.
inline int64_t attention_split_workspace_floats(int32_t num_tokens, int32_t num_heads,
                                                int32_t num_splits, int32_t head_dim) {
    return static_cast<int64_t>(num_tokens) * num_heads * num_splits * (head_dim + 2);
}

/// Launches the attention (and, for num_splits > 1, the split combine).
status paged_attention(const paged_attention_args& args, cudaStream_t stream);

}  // namespace actorlm::cuda

// Causal attention over a paged KV cache: the query tokens of one sequence, for
// one KV head and the query heads that share it (GQA), read their context
// (optionally only a sliding window of it, or, for an encoder, every key of the
// sequence: non-causal) through the sequence's block table
// (vLLM's PagedAttention on the CPU). The cache holds F32, F16 or q8_0 values;
// q8_0 (llama.cpp's 8-bit cache) is dequantized on the fly, never copied. The
// caller spreads (sequence, KV head) pairs over the thread pool; each call
// writes only its heads' columns of `out` and uses thread-local score buffers.
#pragma once

#include <cstdint>

#include "base/dtype.hpp"

namespace actorlm::cpu {

/// One layer of the paged cache: K and V each [num_blocks][block_size][num_kv_heads][head_dim].
/// With q8_0 each slot's row of num_kv_heads * head_dim values is stored as ggml q8_0 blocks
/// (an fp16 scale + 32 int8, 34 bytes per 32 values), as llama.cpp stores its cache rows; the
/// row length must be a multiple of 32. With head_dim a multiple of 32 every head has its own
/// blocks (per-head scales) and the kernels read them directly; smaller heads (8, 16) share a
/// block with their neighbours and take a slower path that dequantizes them first.
struct paged_kv_layer {
    const void* k = nullptr;
    const void* v = nullptr;
    dtype type = dtype::f32;  // f32, f16 or q8_0
    int32_t block_size = 0;
    int32_t num_kv_heads = 0;
    int32_t head_dim = 0;
};

/// The query tokens of one sequence and where their outputs go.
struct attention_query {
    const float* q = nullptr;  // token t, head h at q + t * q_stride + h * head_dim
    int64_t q_stride = 0;      // floats between consecutive tokens
    const int32_t* positions =
        nullptr;  // [num_tokens]; token t attends to context [0, positions[t]]
    int64_t num_tokens = 0;
    const int32_t* block_table =
        nullptr;           // the sequence's blocks, covering every attended position
    float* out = nullptr;  // same layout as q, with out_stride
    int64_t out_stride = 0;
    /// Sliding window: token t attends only to [positions[t] - sliding_window + 1, positions[t]]
    /// (itself and the sliding_window - 1 positions before it; transformers, vLLM and
    /// llama.cpp's standard SWA). 0: the whole causal context.
    int32_t sliding_window = 0;
    /// Non-causal (bidirectional) attention, an encoder's (BERT): > 0 makes every token attend
    /// to the keys at positions [0, context_len), the whole sequence, whatever its own
    /// position. 0: causal. The caller never combines it with a sliding window.
    int32_t context_len = 0;
    /// Attention logit soft-capping (Gemma 2): > 0 replaces every scaled score s by
    /// softcap * tanh(s / softcap) before the softmax. 0: none.
    float softcap = 0.0f;
};

/// The first position a query at `position` attends to under `sliding_window` (0 = none).
inline int64_t attention_first_key(int64_t position, int32_t sliding_window) {
    const int64_t first = sliding_window > 0 ? position - sliding_window + 1 : 0;
    return first > 0 ? first : 0;
}

/// One past the last position token `t` of `query` attends to: its own position + 1 when
/// causal, the whole sequence when non-causal.
inline int64_t attention_key_end(const attention_query& query, int64_t t) {
    return query.context_len > 0 ? query.context_len
                                 : static_cast<int64_t>(query.positions[t]) + 1;
}

/// Computes softmax(q k^T * scale) v, for every token in `query`, for the query
/// heads that read KV head `kv_head`: heads [kv_head * g, (kv_head + 1) * g) with
/// g = num_heads / num_kv_heads. Reading each K/V row once for the whole group is
/// what makes decode attention fast: it is bound by the cache reads.
/// The K/V of every attended position must already be in the cache.
void paged_attention_kv_head(const paged_kv_layer& kv, const attention_query& query,
                             int32_t num_heads, int32_t kv_head, float scale);

namespace detail {
void paged_attention_kv_head_avx512(const paged_kv_layer& kv, const attention_query& query,
                                    int32_t num_heads, int32_t kv_head, float scale);
/// False (nothing computed) for shapes it does not handle: the caller falls back.
bool paged_attention_kv_head_avx2(const paged_kv_layer& kv, const attention_query& query,
                                  int32_t num_heads, int32_t kv_head, float scale);
}  // namespace detail

}  // namespace actorlm::cpu

// Private state of cuda_executor, shared by its two source files: construction
// and memory planning (cuda_executor.cpp) and the per-step layer loop
// (cuda_forward.cpp). Owned by one worker thread, like the executor itself.
#pragma once

#include <memory>

#include "backends/cuda/batch_plan.hpp"
#include "backends/cuda/cuda_kv_blocks.hpp"
#include "backends/cuda/cuda_executor.hpp"
#include "backends/cuda/cuda_weights.hpp"
#include "cuda/device_buffer.hpp"
#include "cuda/gemm.hpp"
#include "cuda/nccl_comm.hpp"
#include "model/tensor_parallel_plan.hpp"

namespace actorlm::cuda {

/// Attention splits are used only for steps of at most this many tokens, which
/// bounds the split workspace (decode of small batches is where they help).
inline constexpr int32_t k_max_split_tokens = 256;
inline constexpr int32_t k_max_splits = 16;
/// Steps of at most this many tokens run as a replayed CUDA graph (launch gaps of
/// ~450 small kernels dominate batch-1 decode otherwise); larger ones run eagerly.
inline constexpr int32_t k_graph_max_tokens = 256;
inline constexpr size_t k_max_cached_graphs = 32;

/// Everything of a step that is baked into a captured graph; the rest (ids,
/// positions, slots, tables, items) is read from the meta buffer at replay.
struct graph_key {
    int32_t num_tokens = 0, num_seqs = 0, max_blocks_per_seq = 0, num_items = 0;
    int32_t num_logits = 0, num_splits = 0;
    bool operator==(const graph_key&) const = default;
};

struct cuda_executor::impl {
    model_config config;
    kv_cache_spec kv;
    cuda_executor_options opts;
    device_info dev;
    tp_shard shard;
    int32_t q_heads = 0;   // this rank's
    int32_t kv_heads = 0;  // this rank's
    int64_t ffn = 0;       // this rank's MLP width
    int64_t qkv_dim = 0;   // (q_heads + 2 kv_heads) * head_dim
    int32_t tokens_per_item = 0;

    cudaStream_t stream = nullptr;
    cublas_gemm gemm;
    std::unique_ptr<nccl_comm> comm;
    device_weights weights;
    device_buffer inv_freq;  // f32 [head_dim / 2]

    device_buffer kv_cache;    // [layers][K|V][num_blocks][block_size][kv_heads][head_dim]
    size_t kv_half_bytes = 0;  // bytes of one layer's K (or V)
    std::unique_ptr<cuda_kv_blocks> kv_blocks;  // KV connectors' block access; null when TP > 1

    device_buffer residual;       // f32 [max_tokens, hidden]
    device_buffer normed;         // T [max_tokens, hidden]
    device_buffer qkv;            // T [max_tokens, qkv_dim]
    device_buffer attn;           // T [max_tokens, q_heads * head_dim]
    device_buffer gate_up;        // T [max_tokens, 2 ffn]
    device_buffer act;            // T [max_tokens, ffn]
    device_buffer split_ws;       // f32 split-attention partials
    device_buffer logits_hidden;  // f32 [max_logits, hidden]
    device_buffer logits_normed;  // T [max_logits, hidden]
    device_buffer logits;         // f32 [max_logits, vocab]
    device_buffer meta;           // the batch_plan blob
    pinned_buffer meta_host;
    device_buffer sample_params;                                // gpu_sampling_params [max_logits]
    device_buffer sample_ids;                                   // int32 [max_logits]
    std::vector<std::pair<graph_key, cudaGraphExec_t>> graphs;  // oldest first
    bool graphs_enabled = true;  // false after a capture failed: run eagerly from then on

    ~impl();

    /// Allocates cache and workspaces once the weights are on the device.
    status allocate_runtime();
    /// Validates and uploads `batch`, then runs all layers and the lm_head, leaving
    /// plan.num_logits rows in `logits`. On error nothing was enqueued after it.
    result<batch_plan> run(const forward_batch& batch);
    /// Enqueues the layers for an uploaded plan (directly or through a cached graph).
    status launch_forward(const batch_plan& plan);
    /// Enqueues the layers for an uploaded plan, kernel by kernel.
    status enqueue_forward(const batch_plan& plan, int32_t splits);
    void drop_graphs();
    int32_t choose_splits(const batch_plan& plan) const;
    void* k_cache(int64_t layer) const;
    void* v_cache(int64_t layer) const;
};

}  // namespace actorlm::cuda

// Device copies of a model's weights for one tensor-parallel rank: Q/K/V fused
// into one column-parallel matrix, gate/up fused likewise, O/down row-parallel,
// norms and biases as FP32, matrices in the executor's compute type. Built from
// the loaders' host model_weights or filled with seeded random values (synthetic
// mode, for benchmarks of any shape without a file). Owned by one executor.
#pragma once

#include <cstdint>
#include <vector>

#include <cuda_runtime_api.h>

#include "cuda/device_buffer.hpp"
#include "model/model_config.hpp"
#include "model/model_weights.hpp"
#include "model/tensor_parallel_plan.hpp"

namespace actorlm::cuda {

struct device_layer_weights {
    device_buffer attn_norm;  // f32 [hidden]
    device_buffer ffn_norm;   // f32 [hidden]
    device_buffer wqkv;       // [q_rows + 2 * kv_rows, hidden]: this rank's wq, wk, wv rows
    device_buffer bqkv;       // f32 [q_rows + 2 * kv_rows]; empty unless recipe.qkv_bias
    device_buffer q_norm;     // f32 [head_dim]; empty unless recipe.qk_norm
    device_buffer k_norm;     // f32 [head_dim]
    device_buffer wo;         // [hidden, q_rows]: this rank's columns of wo
    device_buffer w_gate_up;  // [2 * ffn_rows, hidden]: gate rows then up rows
    device_buffer w_down;     // [hidden, ffn_rows]
};

struct device_weights {
    dtype type = dtype::bf16;       // element type of the matrices
    device_buffer token_embedding;  // [vocab, hidden], replicated
    device_buffer output_norm;      // f32 [hidden]
    device_buffer lm_head_own;      // [vocab, hidden]; empty when tied to the embedding
    std::vector<device_layer_weights> layers;
    int64_t total_bytes = 0;        // device bytes of all of the above
    int64_t decode_read_bytes = 0;  // bytes one decode step streams (all but the embedding
                                    // table, which is only gathered)

    const void* lm_head() const {
        return lm_head_own.get() ? lm_head_own.get() : token_embedding.get();
    }
};

/// Checks `host` against `config` with the one weight validator (validate_weights:
/// presence, shapes, sizes) and that every tensor is F32/F16/BF16 (what this backend
/// uploads). Host-only; the error names the first offending tensor.
status check_weights(const model_config& config, const model_weights& host);

/// Checks `host` (check_weights), then uploads this rank's slices converted to `type` (f32, f16 or
/// bf16). The error names the first offending tensor.
result<device_weights> upload_weights(const model_config& config, const model_weights& host,
                                      const tp_shard& shard, dtype type, cudaStream_t stream);

/// Allocates weights of `config`'s shape for `shard` and fills matrices with
/// uniform values of variance 1/in_features (embedding: uniform in [-1, 1)),
/// norms with 1 and biases with small values, all a function of `seed`.
result<device_weights> synthetic_weights(const model_config& config, const tp_shard& shard,
                                         dtype type, uint64_t seed, cudaStream_t stream);

}  // namespace actorlm::cuda

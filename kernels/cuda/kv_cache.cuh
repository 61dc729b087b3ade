// Writes the K and V of each token of a forward pass into the paged KV cache at
// its slot. Cache layout per layer: [num_blocks][block_size][num_kv_heads][head_dim]
// for K and for V separately, so slot s starts at element s * num_kv_heads * head_dim.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "base/dtype.hpp"
#include "base/result.hpp"

namespace actorlm::cuda {

struct kv_write_args {
    const void* qkv = nullptr;  // device, fused QKV activations of `type`
    dtype type = dtype::bf16;   // activations and cache share it
    int32_t num_tokens = 0;
    int64_t token_stride = 0;  // elements between tokens in qkv
    int64_t k_offset = 0;      // elements from a token's start to its first K head
    int64_t v_offset = 0;      // ... to its first V head
    int32_t num_kv_heads = 0;
    int32_t head_dim = 0;
    const int64_t* slot_mapping = nullptr;  // device [num_tokens]; -1 = padding, skipped
    void* k_cache = nullptr;                // device, this layer's K
    void* v_cache = nullptr;                // device, this layer's V
    int64_t num_slots = 0;                  // num_blocks * block_size; larger slots are skipped
};

/// Copies K/V heads of every token to its slot.
status write_kv_cache(const kv_write_args& args, cudaStream_t stream);

}  // namespace actorlm::cuda

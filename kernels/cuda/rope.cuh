// Rotary position embedding applied in place to the Q and K heads of the fused
// QKV activations. Supports the interleaved (GGUF llama) and NeoX-halves (HF,
// Qwen) pair layouts; frequency scaling (linear, Llama-3) is baked into the
// inverse-frequency table built once per model on the host.
#pragma once

#include <cstdint>
#include <vector>

#include <cuda_runtime_api.h>

#include "base/dtype.hpp"
#include "base/rope_scaling.hpp"
#include "base/result.hpp"

namespace actorlm::cuda {

/// rope_inverse_frequencies (base/rope_scaling.hpp) as the float table the kernel reads.
std::vector<float> rope_inv_freq(int64_t head_dim, double theta, const rope_scaling& scaling);

/// Shape of the fused QKV rows RoPE works on.
struct rope_args {
    void* qkv = nullptr;  // device, element type `type`
    dtype type = dtype::bf16;
    int32_t num_tokens = 0;
    int64_t token_stride = 0;  // elements between consecutive tokens
    int64_t k_offset = 0;      // elements from a token's first Q head to its first K head
    int32_t num_q_heads = 0;
    int32_t num_k_heads = 0;
    int32_t head_dim = 0;                // even
    const int32_t* positions = nullptr;  // device, [num_tokens]
    const float* inv_freq = nullptr;     // device, [head_dim / 2]
    bool neox = false;
};

/// Rotates every Q and K head of every token by its position.
status rope_inplace(const rope_args& args, cudaStream_t stream);

}  // namespace actorlm::cuda

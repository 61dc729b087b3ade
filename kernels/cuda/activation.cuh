// Element-wise MLP and projection helpers: SiLU(gate) * up over the fused
// gate/up GEMM output, and the Q/K/V bias add of Qwen2. Host entry points; all
// pointers are device pointers, launches asynchronous on `stream`.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "base/dtype.hpp"
#include "base/result.hpp"

namespace actorlm::cuda {

/// out[t, j] = silu(gate_up[t, j]) * gate_up[t, ffn + j] for j < ffn, computed in
/// FP32. gate_up is [num_tokens, 2 * ffn], out [num_tokens, ffn], both of `type`.
status silu_and_mul(const void* gate_up, void* out, dtype type, int32_t num_tokens, int64_t ffn,
                    cudaStream_t stream);

/// x[r, c] += bias[c] for a [rows, cols] matrix of `type`; bias is cols floats.
status add_bias(void* x, dtype type, const float* bias, int32_t rows, int64_t cols,
                cudaStream_t stream);

}  // namespace actorlm::cuda

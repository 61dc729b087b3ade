// matmul: y = x · Wᵀ for a weight matrix of any supported type, the one dense
// product of the forward pass. Float weights (f32/f16/bf16) multiply fp32
// activations; quantized weights (q8_0/q4_0/q5_0/q4_k/q6_k, in ggml's row layout
// or repacked as panels, see weight_panels.hpp) multiply activations quantized
// once per call to 8-bit blocks of 32 (like ggml's q8_0), using integer dot
// products. Rows are split over the pool; results do not depend on the number
// of threads.
#pragma once

#include <cstdint>

#include "cpu/thread_pool.hpp"
#include "base/tensor.hpp"

namespace actorlm::cpu {

/// y[t*rows + r] = sum_c x[t*cols + c] * W[r][c] for W = w ({rows, cols}, any
/// dtype), x row-major [num_tokens, cols], y row-major [num_tokens, rows]. y must
/// not alias x. Invalid shapes (cols not a multiple of the block size, missing
/// data) are programming errors and abort with a message. Uses the kernels of
/// active_cpu_level(). Call from one thread at a time per pool.
void matmul(const tensor& w, const float* x, int64_t num_tokens, float* y, thread_pool& pool);

}  // namespace actorlm::cpu

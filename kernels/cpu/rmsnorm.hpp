// RMSNorm (Llama's pre-norm): y = x / sqrt(mean(x^2) + eps) * weight, one row
// at a time. The caller spreads rows over the thread pool; each call touches
// only its own row. An AVX-512 variant is chosen at run time when the CPU has it.
#pragma once

#include <cstdint>

namespace actorlm::cpu {

/// Normalizes one row of `n` floats; `y` may equal `x`.
void rmsnorm(const float* x, const float* weight, float* y, int64_t n, float eps);

/// Normalizes `num_rows` consecutive rows of `n` floats each, in place, with one
/// weight vector (Qwen3's per-head Q/K norm over every head of a token).
void rmsnorm_rows(float* x, const float* weight, int64_t num_rows, int64_t n, float eps);

namespace detail {
void rmsnorm_avx512(const float* x, const float* weight, float* y, int64_t n, float eps);
}  // namespace detail

}  // namespace actorlm::cpu

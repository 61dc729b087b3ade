// LayerNorm with weight and bias (the vision encoders' norm: CLIP, SigLIP):
// y = (x - mean) / sqrt(var + eps) * weight + bias over one row, var the biased
// (population) variance as torch.nn.LayerNorm computes it. The caller spreads rows
// over the thread pool; each call touches only its own row. Stateless; any thread.
#pragma once

#include <cstdint>

namespace actorlm::cpu {

/// Normalizes one row of `n` floats; `y` may equal `x`. Mean and variance accumulate in
/// double (two passes), so the result is within float rounding of the exact formula.
void layernorm(const float* x, const float* weight, const float* bias, float* y, int64_t n,
               float eps);

}  // namespace actorlm::cpu

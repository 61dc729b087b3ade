// The GELU family of element-wise activations the vision encoders and projectors use,
// applied in place: gelu with erf (torch's exact GELU, transformers' "gelu"), the tanh
// approximation ("gelu_pytorch_tanh", "gelu_new") and CLIP's quick_gelu (x * sigmoid(1.702 x)).
// The caller splits rows over the pool. Stateless; any thread.
#pragma once

#include <cstdint>

namespace actorlm::cpu {

/// x[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2))) for i < n.
void gelu_erf(float* x, int64_t n);

/// x[i] = 0.5 * x[i] * (1 + tanh(sqrt(2 / pi) * (x[i] + 0.044715 * x[i]^3))) for i < n.
void gelu_tanh(float* x, int64_t n);

/// x[i] = x[i] / (1 + exp(-1.702 * x[i])) for i < n.
void quick_gelu(float* x, int64_t n);

}  // namespace actorlm::cpu

// SwiGLU activation of the Llama MLP: out = silu(gate) * up, elementwise. The
// caller splits rows over the pool. An AVX-512 variant (vector exp) is chosen at
// run time.
#pragma once

#include <cstdint>

namespace actorlm::cpu {

/// out[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for i < n; out may alias gate or up.
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

namespace detail {
void silu_mul_avx512(const float* gate, const float* up, float* out, int64_t n);
}  // namespace detail

}  // namespace actorlm::cpu

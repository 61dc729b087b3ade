// GELU variants, portable float code with the libm functions (erff, tanhf, expf), which
// are within a few ulp of torch's CPU kernels; the activations are a small share of an
// encoder layer's time next to its matmuls.
#include "cpu/gelu.hpp"

#include <cmath>

namespace actorlm::cpu {

void gelu_erf(float* x, int64_t n) {
    constexpr float k_inv_sqrt2 = 0.70710678118654752440f;
    for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * k_inv_sqrt2));
}

void gelu_tanh(float* x, int64_t n) {
    constexpr float k_sqrt_2_over_pi = 0.79788456080286535588f;
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        x[i] = 0.5f * v * (1.0f + std::tanh(k_sqrt_2_over_pi * (v + 0.044715f * v * v * v)));
    }
}

void quick_gelu(float* x, int64_t n) {
    // For v < -88 expf overflows to inf and the quotient is -0, the limit.
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-1.702f * x[i]));
}

}  // namespace actorlm::cpu

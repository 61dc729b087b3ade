// Portable SwiGLU and the run-time choice of the AVX-512 variant.
#include "cpu/activation.hpp"

#include <cmath>

#include "cpu/cpu_features.hpp"

namespace actorlm::cpu {

namespace {

void silu_mul_generic(const float* gate, const float* up, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

}  // namespace

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
    if (active_cpu_level() == cpu_level::avx512) {
        detail::silu_mul_avx512(gate, up, out, n);
    } else {
        silu_mul_generic(gate, up, out, n);
    }
}

}  // namespace actorlm::cpu

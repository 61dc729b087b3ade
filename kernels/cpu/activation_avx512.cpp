// AVX-512 SwiGLU: silu(g) * u = g * u / (1 + exp(-g)), 16 lanes per step with a
// masked tail. Compiled with -mavx512f; called only when the CPU reports it.
// GCC 12 flags its own _mm512_undefined_* idiom in avx512fintrin.h (bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "cpu/activation.hpp"
#include "cpu/activation_avx512.hpp"

namespace actorlm::cpu::detail {

void silu_mul_avx512(const float* gate, const float* up, float* out, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(static_cast<long>(n - i));
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        const __m512 u = _mm512_maskz_loadu_ps(m, up + i);
        const __m512 den = _mm512_add_ps(one, exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), g)));
        _mm512_mask_storeu_ps(out + i, m, _mm512_div_ps(_mm512_mul_ps(g, u), den));
    }
}

}  // namespace actorlm::cpu::detail

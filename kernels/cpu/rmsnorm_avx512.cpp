// AVX-512 RMSNorm: 16-lane sum of squares with a masked tail, then one scaled
// multiply pass. Compiled with -mavx512f; called only when the CPU reports it.
// GCC 12 flags its own _mm512_undefined_* idiom in avx512fintrin.h (bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cmath>

#include "cpu/rmsnorm.hpp"

namespace actorlm::cpu::detail {

void rmsnorm_avx512(const float* x, const float* weight, float* y, int64_t n, float eps) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        acc0 = _mm512_fmadd_ps(a, a, acc0);
        acc1 = _mm512_fmadd_ps(b, b, acc1);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
        const __m512 a = _mm512_maskz_loadu_ps(m, x + i);
        acc0 = _mm512_fmadd_ps(a, a, acc0);
    }
    const float ss = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    const __m512 inv = _mm512_set1_ps(1.0f / std::sqrt(ss / static_cast<float>(n) + eps));
    for (i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
        const __m512 a = _mm512_maskz_loadu_ps(m, x + i);
        const __m512 w = _mm512_maskz_loadu_ps(m, weight + i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_mul_ps(a, inv), w));
    }
}

}  // namespace actorlm::cpu::detail

// half_avx512: AVX-512 bulk conversions (16 values per step, masked tail).
// Compiled with the avx512 flag set; called only when the cpu level allows it.
#include "cpu/simd.hpp"

#include "cpu/half.hpp"

namespace actorlm::cpu::detail {

void fp16_to_fp32_row_avx512(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
    }
    if (i < n) {
        const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
        const __m256i h = _mm256_maskz_loadu_epi16(mask, src + i);
        _mm512_mask_storeu_ps(dst + i, mask, _mm512_cvtph_ps(h));
    }
}

void bf16_to_fp32_row_avx512(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512i w =
            _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
    if (i < n) {
        const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
        const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, src + i));
        _mm512_mask_storeu_ps(dst + i, mask, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
}

}  // namespace actorlm::cpu::detail

// quantize_activations_avx512: AVX-512 version of the portable activation
// quantizer; same operations (amax, d = amax/127, q = rint(x * (1/d))) in the
// same order, so its output is bit-identical to the portable one.
#include "cpu/simd.hpp"

#include "cpu/matmul_kernels.hpp"

namespace actorlm::cpu::detail {
namespace {

// Horizontal reductions written out: g++ 12's _mm512_reduce_* trip
// -Wmaybe-uninitialized inside its own headers.
inline float hmax(__m512 v) {
    __m256 m = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

inline int hsum(__m512i v) {
    __m256i s = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    return _mm_cvtsi128_si32(h);
}

}  // namespace

void quantize_activations_avx512(const float* x, int64_t cols, int64_t t_begin, int64_t t_end,
                                 int8_t* qs, float* d, int16_t* sums) {
    const __m512 sign_clear = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (int64_t t = t_begin; t < t_end; ++t) {
        for (int64_t b = 0; b < cols / 32; ++b) {
            const float* src = x + t * cols + b * 32;
            const __m512 v0 = _mm512_loadu_ps(src), v1 = _mm512_loadu_ps(src + 16);
            const __m512 a =
                _mm512_max_ps(_mm512_and_ps(v0, sign_clear), _mm512_and_ps(v1, sign_clear));
            const float amax = hmax(a);
            const float scale = amax / 127.0f;
            const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
            const __m512 vinv = _mm512_set1_ps(inv);
            const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vinv));
            const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vinv));
            int8_t* q = qs + t * cols + b * 32;
            _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtsepi32_epi8(q0));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtsepi32_epi8(q1));
            d[t * (cols / 32) + b] = scale;
            sums[t * (cols / 16) + 2 * b] = static_cast<int16_t>(hsum(q0));
            sums[t * (cols / 16) + 2 * b + 1] = static_cast<int16_t>(hsum(q1));
        }
    }
}

}  // namespace actorlm::cpu::detail

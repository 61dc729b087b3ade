// AVX-512 paged attention: 16-lane dot / axpy over head_dim with masked tails,
// fp16 cache rows widened with vcvtph2ps, vector exp for the softmax.
// Compiled with -mavx512f/bw/vl; called only at the avx512 cpu level.
// GCC 12 flags its own _mm512_undefined_* idiom in avx512fintrin.h (bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "cpu/activation_avx512.hpp"
#include "cpu/attention_impl.hpp"

namespace actorlm::cpu::detail {

namespace {

inline __m512 load16(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline __m512 load16(const uint16_t* p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

struct avx512_ops {
    template <class T>
    static float dot(const float* q, const T* k, int64_t n) {
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        int64_t i = 0;
        for (; i + 32 <= n; i += 32) {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load16(k + i, 0xffff), acc0);
            acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), load16(k + i + 16, 0xffff), acc1);
        }
        for (; i < n; i += 16) {
            const __mmask16 m = tail_mask(static_cast<long>(n - i));
            acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), load16(k + i, m), acc0);
        }
        return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    }
    template <class T>
    static void axpy(float* out, float a, const T* v, int64_t n) {
        const __m512 av = _mm512_set1_ps(a);
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 m = tail_mask(static_cast<long>(n - i));
            const __m512 o = _mm512_maskz_loadu_ps(m, out + i);
            _mm512_mask_storeu_ps(out + i, m, _mm512_fmadd_ps(av, load16(v + i, m), o));
        }
    }
    static float exp_shift_sum(float* s, int64_t n, float shift) {
        const __m512 sh = _mm512_set1_ps(shift);
        __m512 sum = _mm512_setzero_ps();
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 m = tail_mask(static_cast<long>(n - i));
            const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + i), sh));
            _mm512_mask_storeu_ps(s + i, m, e);
            sum = _mm512_mask_add_ps(sum, m, sum, e);
        }
        return _mm512_reduce_add_ps(sum);
    }
    static void zero(float* out, int64_t n) {
        for (int64_t i = 0; i < n; i += 16)
            _mm512_mask_storeu_ps(out + i, tail_mask(static_cast<long>(n - i)), _mm512_setzero_ps());
    }
    static void scale(float* out, float a, int64_t n) {
        const __m512 av = _mm512_set1_ps(a);
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 m = tail_mask(static_cast<long>(n - i));
            _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, out + i), av));
        }
    }
};

}  // namespace

void paged_attention_head_avx512(const paged_kv_layer& kv, const attention_query& query,
                                 int32_t num_heads, int32_t head, float scale) {
    if (kv.type == dtype::f16) {
        paged_attention_head_impl<avx512_ops, uint16_t>(kv, query, num_heads, head, scale);
    } else {
        paged_attention_head_impl<avx512_ops, float>(kv, query, num_heads, head, scale);
    }
}

}  // namespace actorlm::cpu::detail

// AVX-512 paged attention for one KV head and the query heads that share it.
// Decode attention is bound by reading the cache, so every K/V row is loaded
// from memory once per query token for the whole GQA group (the per-head loop it
// replaces read each row group-size times and spent most of a 32-sequence decode
// step there). Scores are formed 16 keys at a time: 16 partial-sum vectors are
// folded into one vector of 16 dot products by a transpose-add tree, so the
// horizontal reduction costs ~3 instructions per key instead of ~10. The
// weighted sum of V keeps the head's output in registers across all keys. A
// sliding window only moves the first key: the walk then starts mid-block. Soft-capping
// (Gemma 2) maps each vector of 16 scores through a vector tanh before the max.
// Head sizes that are not a multiple of 16 (or above 256) take the per-head
// path from attention_impl.hpp. Compiled with -mavx512f/bw/vl.
// GCC 12 flags its own _mm512_undefined_* idiom in avx512fintrin.h (bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "cpu/activation_avx512.hpp"
#include "cpu/attention_impl.hpp"

namespace actorlm::cpu::detail {

namespace {

inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 load16(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline __m512 load16(const uint16_t* p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

// Lane i of the result is the sum of the 16 lanes of v[i].
inline __m512 transpose_sum16(const __m512 (&v)[16]) {
    __m512 x[8];
    for (int k = 0; k < 8; ++k)  // per 128-bit lane: a b a b partial sums
        x[k] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * k], v[2 * k + 1]),
                             _mm512_unpackhi_ps(v[2 * k], v[2 * k + 1]));
    __m512 y[4];
    for (int k = 0; k < 4; ++k) {  // per 128-bit lane: a b c d
        const __m512d a = _mm512_castps_pd(x[2 * k]), b = _mm512_castps_pd(x[2 * k + 1]);
        y[k] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    // Fold the four 128-bit lanes: y[k] lane c holds vectors 4k..4k+3 over chunk c.
    const __m512 z0 = _mm512_add_ps(_mm512_shuffle_f32x4(y[0], y[1], 0x88),
                                    _mm512_shuffle_f32x4(y[0], y[1], 0xdd));
    const __m512 z1 = _mm512_add_ps(_mm512_shuffle_f32x4(y[2], y[3], 0x88),
                                    _mm512_shuffle_f32x4(y[2], y[3], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(z0, z1, 0x88), _mm512_shuffle_f32x4(z0, z1, 0xdd));
}

// Asks for the rows of the next cache block of this KV head: blocks sit anywhere
// in the pool, so the hardware prefetcher cannot guess the jump between them.
template <class T>
inline void prefetch_rows(const T* base, int64_t block_offset, int64_t rows, int64_t slot_stride,
                          int64_t hd) {
    const char* p = reinterpret_cast<const char*>(base + block_offset);
    const int64_t row_bytes = hd * static_cast<int64_t>(sizeof(T));
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t at = 0; at < row_bytes; at += 64)
            _mm_prefetch(p + r * slot_stride * static_cast<int64_t>(sizeof(T)) + at, _MM_HINT_T0);
}

// Per-head views of one query token, shared by the score and value passes.
struct group_token {
    const float* q;  // head h0's query; head i at q + i * head_dim
    float* out;      // same layout as q
    float* scores;   // head i's scores at scores + i * stride
    int64_t stride;  // floats between heads' score rows (n rounded up to 16)
    int64_t first;   // first attended position (> 0 under a sliding window)
    int64_t n;       // attended positions [first, first + n); score i is position first + i
};

// Calls body(block_offset, score_index, count) for each piece of [tok.first, tok.first + tok.n)
// that lies in one cache block (a sliding window may start mid-block), and prefetches the next
// block's rows when `prefetch_base` is set.
template <class T, class Body>
inline void for_each_piece(const int32_t* block_table, int64_t bs, int64_t block_stride,
                           int64_t slot_stride, int64_t hd, const group_token& tok,
                           const T* prefetch_base, Body&& body) {
    const int64_t end = tok.first + tok.n;
    for (int64_t j = tok.first; j < end;) {
        const int64_t off = j % bs;
        const int64_t count = std::min(bs - off, end - j);
        if (prefetch_base && j + count < end)
            prefetch_rows(prefetch_base, block_table[j / bs + 1] * block_stride, bs, slot_stride,
                          hd);
        body(static_cast<int64_t>(block_table[j / bs]) * block_stride + off * slot_stride,
             j - tok.first, count);
        j += count;
    }
}

// Attention soft-capping of 16 scaled scores: cap * tanh(s / cap), with
// tanh(x) = 1 - 2 / (exp(2x) + 1) (exp_avx512 clamps, so large |x| give exactly +-1; the
// absolute error near 0 is ~1e-7, times cap).
inline __m512 softcap16(__m512 s, float cap) {
    const __m512 e = exp_avx512(_mm512_mul_ps(s, _mm512_set1_ps(2.0f / cap)));
    const __m512 t = _mm512_sub_ps(_mm512_set1_ps(1.0f),
                                   _mm512_div_ps(_mm512_set1_ps(2.0f),
                                                 _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
    return _mm512_mul_ps(t, _mm512_set1_ps(cap));
}

template <int NV, class T>
void score_pass(const paged_kv_layer& kv, const int32_t* block_table, const T* k_base,
                const group_token& tok, int32_t group, float scale, float softcap,
                float* max_out) {
    const int64_t hd = NV * 16, bs = kv.block_size;
    const int64_t slot_stride = static_cast<int64_t>(kv.num_kv_heads) * hd;
    const int64_t block_stride = bs * slot_stride;
    for (int32_t i = 0; i < group; ++i) {
        __m512 qv[NV];
        for (int c = 0; c < NV; ++c)
            qv[c] = _mm512_mul_ps(_mm512_loadu_ps(tok.q + i * hd + 16 * c), _mm512_set1_ps(scale));
        float* s = tok.scores + i * tok.stride;
        __m512 vmax = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        for_each_piece(block_table, bs, block_stride, slot_stride, hd, tok,
                       i == 0 ? k_base : nullptr, [&](int64_t at, int64_t si, int64_t in_block) {
                           const T* kb = k_base + at;
                           for (int64_t o0 = 0; o0 < in_block; o0 += 16) {
                               const int64_t cnt = std::min<int64_t>(16, in_block - o0);
                               __m512 acc[16];
#pragma GCC unroll 16
                               for (int o = 0; o < 16; ++o) {
                                   // Keys past the end repeat the last valid row; their lanes are
                                   // dropped below.
                                   const T* k =
                                       kb + (o0 + std::min<int64_t>(o, cnt - 1)) * slot_stride;
                                   __m512 a = _mm512_mul_ps(qv[0], load16(k));
                                   for (int c = 1; c < NV; ++c)
                                       a = _mm512_fmadd_ps(qv[c], load16(k + 16 * c), a);
                                   acc[o] = a;
                               }
                               const __mmask16 m = tail_mask(static_cast<long>(cnt));
                               __m512 r = transpose_sum16(acc);
                               if (softcap > 0.0f) r = softcap16(r, softcap);
                               _mm512_mask_storeu_ps(s + si + o0, m, r);
                               vmax = _mm512_mask_max_ps(vmax, m, vmax, r);
                           }
                       });
        max_out[i] = _mm512_reduce_max_ps(vmax);
    }
}

// Replaces scores by exp(score - max) and returns their sum.
inline float exp_and_sum(float* s, int64_t n, float max_score) {
    const __m512 sh = _mm512_set1_ps(max_score);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(static_cast<long>(n - i));
        const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + i), sh));
        _mm512_mask_storeu_ps(s + i, m, e);
        sum = _mm512_mask_add_ps(sum, m, sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

// Per-head operations for head sizes off the 16-lane grid (masked tails).
struct avx512_tail_ops {
    template <class T>
    static float dot(const float* q, const T* k, int64_t n) {
        __m512 acc = _mm512_setzero_ps();
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 m = tail_mask(static_cast<long>(n - i));
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), load16(k + i, m), acc);
        }
        return _mm512_reduce_add_ps(acc);
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
        return exp_and_sum(s, n, shift);
    }
    static void zero(float* out, int64_t n) {
        for (int64_t i = 0; i < n; i += 16)
            _mm512_mask_storeu_ps(out + i, tail_mask(static_cast<long>(n - i)),
                                  _mm512_setzero_ps());
    }
    static void scale(float* out, float a, int64_t n) {
        const __m512 av = _mm512_set1_ps(a);
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 m = tail_mask(static_cast<long>(n - i));
            _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, out + i), av));
        }
    }
};

template <int NV, class T>
void value_pass(const paged_kv_layer& kv, const int32_t* block_table, const T* v_base,
                const group_token& tok, int32_t group, const float* inv_sum) {
    const int64_t hd = NV * 16, bs = kv.block_size;
    const int64_t slot_stride = static_cast<int64_t>(kv.num_kv_heads) * hd;
    const int64_t block_stride = bs * slot_stride;
    for (int32_t i = 0; i < group; ++i) {
        const float* p = tok.scores + i * tok.stride;
        __m512 acc[NV];
        for (int c = 0; c < NV; ++c) acc[c] = _mm512_setzero_ps();
        for_each_piece(block_table, bs, block_stride, slot_stride, hd, tok,
                       i == 0 ? v_base : nullptr, [&](int64_t at, int64_t si, int64_t in_block) {
                           const T* vb = v_base + at;
                           for (int64_t o = 0; o < in_block; ++o) {
                               const __m512 w = _mm512_set1_ps(p[si + o]);
                               const T* v = vb + o * slot_stride;
                               for (int c = 0; c < NV; ++c)
                                   acc[c] = _mm512_fmadd_ps(w, load16(v + 16 * c), acc[c]);
                           }
                       });
        const __m512 norm = _mm512_set1_ps(inv_sum[i]);
        for (int c = 0; c < NV; ++c)
            _mm512_storeu_ps(tok.out + i * hd + 16 * c, _mm512_mul_ps(acc[c], norm));
    }
}

template <int NV, class T>
void group_attention(const paged_kv_layer& kv, const attention_query& query, int32_t num_heads,
                     int32_t kv_head, float scale) {
    const int64_t hd = NV * 16;
    const int32_t group = num_heads / kv.num_kv_heads;
    const int64_t h0 = static_cast<int64_t>(kv_head) * group;
    const T* k_base = static_cast<const T*>(kv.k) + kv_head * hd;
    const T* v_base = static_cast<const T*>(kv.v) + kv_head * hd;
    thread_local std::vector<float> scores;
    thread_local std::vector<float> head_stats;  // max, then 1/sum, per head
    head_stats.resize(static_cast<size_t>(group));

    for (int64_t t = 0; t < query.num_tokens; ++t) {
        group_token tok;
        tok.first = attention_first_key(query.positions[t], query.sliding_window);
        tok.n = attention_key_end(query, t) - tok.first;
        tok.stride = (tok.n + 15) / 16 * 16;
        if (scores.size() < static_cast<size_t>(tok.stride * group))
            scores.resize(static_cast<size_t>(tok.stride * group));
        tok.scores = scores.data();
        tok.q = query.q + t * query.q_stride + h0 * hd;
        tok.out = query.out + t * query.out_stride + h0 * hd;

        score_pass<NV>(kv, query.block_table, k_base, tok, group, scale, query.softcap,
                       head_stats.data());
        for (int32_t i = 0; i < group; ++i)
            head_stats[static_cast<size_t>(i)] =
                1.0f /
                exp_and_sum(tok.scores + i * tok.stride, tok.n, head_stats[static_cast<size_t>(i)]);
        value_pass<NV>(kv, query.block_table, v_base, tok, group, head_stats.data());
    }
}

template <class T>
void group_attention_dispatch(const paged_kv_layer& kv, const attention_query& query,
                              int32_t num_heads, int32_t kv_head, float scale) {
    switch (kv.head_dim) {
        case 16: return group_attention<1, T>(kv, query, num_heads, kv_head, scale);
        case 32: return group_attention<2, T>(kv, query, num_heads, kv_head, scale);
        case 48: return group_attention<3, T>(kv, query, num_heads, kv_head, scale);
        case 64: return group_attention<4, T>(kv, query, num_heads, kv_head, scale);
        case 80: return group_attention<5, T>(kv, query, num_heads, kv_head, scale);
        case 96: return group_attention<6, T>(kv, query, num_heads, kv_head, scale);
        case 128: return group_attention<8, T>(kv, query, num_heads, kv_head, scale);
        case 256: return group_attention<16, T>(kv, query, num_heads, kv_head, scale);
        default: break;
    }
    // Other head sizes: one head at a time with masked 16-lane tails.
    const int32_t group = num_heads / kv.num_kv_heads;
    for (int32_t h = kv_head * group; h < (kv_head + 1) * group; ++h)
        paged_attention_head_impl<avx512_tail_ops, T>(kv, query, num_heads, h, scale);
}

}  // namespace

void paged_attention_kv_head_avx512(const paged_kv_layer& kv, const attention_query& query,
                                    int32_t num_heads, int32_t kv_head, float scale) {
    if (kv.type == dtype::f16) {
        group_attention_dispatch<uint16_t>(kv, query, num_heads, kv_head, scale);
    } else {
        group_attention_dispatch<float>(kv, query, num_heads, kv_head, scale);
    }
}

}  // namespace actorlm::cpu::detail

// AVX2 paged attention for one KV head and the query heads that share it, for
// processors without AVX-512. The portable loop converts each fp16 cache element
// with a scalar routine and reads every K/V row once per query head; at a 2k-token
// context that made decode attention cost more than all the matmuls. Here each K/V
// row is converted 8 lanes at a time (F16C) and read once for the whole GQA group:
// the row's 8-wide chunk is loaded once and fused into every head's accumulator.
// q8_0 rows (34 bytes per 32 values) are widened 8 int8 at a time and their block
// scale applied once per 32 values in registers; AVX-512 machines run q8_0 here too.
// Head sizes that are not a multiple of 8, and groups wider than k_max_group, take
// the portable per-head path. Soft-capped scores (Gemma 2) use the scalar tanh: one per
// key and head, next to head_dim multiply-adds. Compiled with -mavx2 -mfma -mf16c.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/attention.hpp"
#include "cpu/attention_impl.hpp"
#include "cpu/quant_blocks.hpp"
#include "cpu/simd.hpp"

namespace actorlm::cpu::detail {

namespace {

/// Widest GQA group handled here (one accumulator register per head).
constexpr int32_t k_max_group = 12;

inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Calls f(c, x) for the 8-value chunks c of one head's row, x = the chunk as floats.
template <class F>
inline void for_each_chunk(const float* r, int64_t hd, F&& f) {
    for (int64_t c = 0; c < hd / 8; ++c) f(c, load8(r + 8 * c));
}
template <class F>
inline void for_each_chunk(const uint16_t* r, int64_t hd, F&& f) {
    for (int64_t c = 0; c < hd / 8; ++c) f(c, load8(r + 8 * c));
}
// q8_0: head_dim / 32 blocks; each block's scale multiplies its widened int8 values once,
// before they feed every head of the group.
template <class F>
inline void for_each_chunk(const block_q8_0* r, int64_t hd, F&& f) {
    for (int64_t b = 0; b < hd / 32; ++b) {
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(r[b].d));
        for (int64_t c = 0; c < 4; ++c) {
            const __m128i q8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(r[b].qs + 8 * c));
            f(4 * b + c, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8)), d));
        }
    }
}

inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

template <class T>
void group_attention(const paged_kv_layer& kv, const attention_query& query, int32_t num_heads,
                     int32_t kv_head, float scale) {
    const int64_t hd = kv.head_dim;
    const int64_t bs = kv.block_size;
    const int32_t g = num_heads / kv.num_kv_heads;
    const int32_t h0 = kv_head * g;
    const int64_t head_units = hd / kv_unit_elems<T>;  // a q8_0 head is hd / 32 blocks
    const int64_t slot_stride = static_cast<int64_t>(kv.num_kv_heads) * head_units;
    const T* k_base = static_cast<const T*>(kv.k) + kv_head * head_units;
    const T* v_base = static_cast<const T*>(kv.v) + kv_head * head_units;
    thread_local std::vector<float> scores;  // head i's at i * n

    for (int64_t t = 0; t < query.num_tokens; ++t) {
        const float* q = query.q + t * query.q_stride + h0 * hd;
        float* out = query.out + t * query.out_stride + h0 * hd;
        const int64_t end = attention_key_end(query, t);
        const int64_t first = attention_first_key(query.positions[t], query.sliding_window);
        const int64_t n = end - first;
        if (static_cast<int64_t>(scores.size()) < n * g) scores.resize(static_cast<size_t>(n * g));
        float* s = scores.data();

        auto for_each_row = [&](const T* base, auto&& body) {
            for_each_block_piece(base, query.block_table, first, end, bs, slot_stride,
                                 [&](const T* rows, int64_t at, int64_t count) {
                                     for (int64_t o = 0; o < count; ++o)
                                         body(rows + o * slot_stride, at + o);
                                 });
        };

        // Scores: one pass over K, every head of the group per row.
        for_each_row(k_base, [&](const T* k, int64_t at) {
            __m256 acc[k_max_group];
            for (int32_t i = 0; i < g; ++i) acc[i] = _mm256_setzero_ps();
            for_each_chunk(k, hd, [&](int64_t c, __m256 kc) {
                for (int32_t i = 0; i < g; ++i)
                    acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i * hd + 8 * c), kc, acc[i]);
            });
            for (int32_t i = 0; i < g; ++i)
                s[i * n + at] = softcap_score(hsum8(acc[i]) * scale, query.softcap);
        });

        // Softmax weights per head (normalized at the end).
        float inv_sum[k_max_group];
        for (int32_t i = 0; i < g; ++i) {
            float* si = s + i * n;
            const float max_score = *std::max_element(si, si + n);
            float sum = 0.0f;
            for (int64_t j = 0; j < n; ++j) {
                si[j] = std::exp(si[j] - max_score);
                sum += si[j];
            }
            inv_sum[i] = 1.0f / sum;
        }

        // Weighted sum of V: one pass over V, each row's chunk into every head's output.
        std::fill(out, out + g * hd, 0.0f);
        for_each_row(v_base, [&](const T* v, int64_t at) {
            for_each_chunk(v, hd, [&](int64_t c, __m256 vc) {
                for (int32_t i = 0; i < g; ++i) {
                    float* o = out + i * hd + 8 * c;
                    _mm256_storeu_ps(
                        o, _mm256_fmadd_ps(_mm256_set1_ps(s[i * n + at]), vc, _mm256_loadu_ps(o)));
                }
            });
        });
        for (int32_t i = 0; i < g; ++i) {
            const __m256 a = _mm256_set1_ps(inv_sum[i]);
            for (int64_t c = 0; c < hd; c += 8)
                _mm256_storeu_ps(out + i * hd + c,
                                 _mm256_mul_ps(a, _mm256_loadu_ps(out + i * hd + c)));
        }
    }
}

}  // namespace

bool paged_attention_kv_head_avx2(const paged_kv_layer& kv, const attention_query& query,
                                  int32_t num_heads, int32_t kv_head, float scale) {
    if (kv.head_dim % 8 != 0 || num_heads / kv.num_kv_heads > k_max_group) return false;
    if (kv.type == dtype::q8_0)
        group_attention<block_q8_0>(kv, query, num_heads, kv_head, scale);
    else if (kv.type == dtype::f16)
        group_attention<uint16_t>(kv, query, num_heads, kv_head, scale);
    else
        group_attention<float>(kv, query, num_heads, kv_head, scale);
    return true;
}

}  // namespace actorlm::cpu::detail

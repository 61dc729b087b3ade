// Portable paged attention (plain loops the compiler may vectorize), the q8_0
// path for heads smaller than a block, and the run-time choice of the AVX-512 or
// AVX2 variant.
#include "cpu/attention.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/check.hpp"
#include "cpu/attention_impl.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/dequantize.hpp"
#include "cpu/half.hpp"

namespace actorlm::cpu {

namespace {

inline float to_float(float x) { return x; }
inline float to_float(uint16_t x) { return fp16_to_fp32(x); }

struct generic_ops {
    template <class T>
    static float dot(const float* q, const T* k, int64_t n) {
        float acc = 0.0f;
        for (int64_t i = 0; i < n; ++i) acc += q[i] * to_float(k[i]);
        return acc;
    }
    // One scale per 32 values: sum q * qs inside the block, then scale once.
    static float dot(const float* q, const block_q8_0* k, int64_t n) {
        float acc = 0.0f;
        for (int64_t b = 0; b < n / 32; ++b, q += 32) {
            float s = 0.0f;
            for (int j = 0; j < 32; ++j) s += q[j] * static_cast<float>(k[b].qs[j]);
            acc += s * fp16_to_fp32(k[b].d);
        }
        return acc;
    }
    template <class T>
    static void axpy(float* out, float a, const T* v, int64_t n) {
        for (int64_t i = 0; i < n; ++i) out[i] += a * to_float(v[i]);
    }
    static void axpy(float* out, float a, const block_q8_0* v, int64_t n) {
        for (int64_t b = 0; b < n / 32; ++b, out += 32) {
            const float ad = a * fp16_to_fp32(v[b].d);
            for (int j = 0; j < 32; ++j) out[j] += ad * static_cast<float>(v[b].qs[j]);
        }
    }
    static float exp_shift_sum(float* s, int64_t n, float shift) {
        float sum = 0.0f;
        for (int64_t i = 0; i < n; ++i) {
            s[i] = std::exp(s[i] - shift);
            sum += s[i];
        }
        return sum;
    }
    static void zero(float* out, int64_t n) {
        for (int64_t i = 0; i < n; ++i) out[i] = 0.0f;
    }
    static void scale(float* out, float a, int64_t n) {
        for (int64_t i = 0; i < n; ++i) out[i] *= a;
    }
};

// q8_0 heads smaller than a block (head_dim 8 or 16: tiny models such as stories260K)
// share each block with their neighbours, so no kernel can read a head as whole blocks.
// The attended positions of this KV head are dequantized into a dense F32 copy (one
// block of `n` slots, one KV head) and the F32 kernel runs over it. The copy costs as
// much as the attention itself; only models too small for speed to matter take this path.
void paged_attention_q8_0_split_heads(const paged_kv_layer& kv, const attention_query& query,
                                      int32_t num_heads, int32_t kv_head, float scale) {
    const int64_t hd = kv.head_dim;
    const int64_t row = static_cast<int64_t>(kv.num_kv_heads) * hd;
    const int64_t row_blocks = row / 32;
    const int64_t head_begin = kv_head * hd;  // this head's first value within a slot's row
    const int64_t first_block = head_begin / 32;
    const int64_t last_block = (head_begin + hd - 1) / 32;
    int64_t end = 0, first = INT64_MAX;
    for (int64_t t = 0; t < query.num_tokens; ++t) {
        end = std::max<int64_t>(end, attention_key_end(query, t));
        first = std::min(first, attention_first_key(query.positions[t], query.sliding_window));
    }
    thread_local std::vector<float> k, v, scratch;
    k.assign(static_cast<size_t>(end * hd), 0.0f);
    v.assign(k.size(), 0.0f);
    scratch.resize(static_cast<size_t>((last_block - first_block + 1) * 32));
    const auto* kq = static_cast<const block_q8_0*>(kv.k);
    const auto* vq = static_cast<const block_q8_0*>(kv.v);
    for (int64_t pos = first; pos < end; ++pos) {
        const int64_t slot =
            static_cast<int64_t>(query.block_table[pos / kv.block_size]) * kv.block_size +
            pos % kv.block_size;
        const int64_t at = slot * row_blocks + first_block;
        const int64_t count = last_block - first_block + 1;
        const int64_t skip = head_begin - first_block * 32;
        dequantize_row(dtype::q8_0, kq + at, scratch.data(), count * 32);
        std::copy_n(scratch.data() + skip, hd, k.data() + pos * hd);
        dequantize_row(dtype::q8_0, vq + at, scratch.data(), count * 32);
        std::copy_n(scratch.data() + skip, hd, v.data() + pos * hd);
    }
    paged_kv_layer dense;
    dense.k = k.data();
    dense.v = v.data();
    dense.type = dtype::f32;
    dense.block_size = static_cast<int32_t>(std::max<int64_t>(end, 1));
    dense.num_kv_heads = 1;
    dense.head_dim = kv.head_dim;
    const int32_t zero_block = 0;
    // The group's query heads become heads 0..group-1 of a one-KV-head layer.
    const int32_t group = num_heads / kv.num_kv_heads;
    attention_query q = query;
    q.q = query.q + static_cast<int64_t>(kv_head) * group * hd;
    q.out = query.out + static_cast<int64_t>(kv_head) * group * hd;
    q.block_table = &zero_block;
    paged_attention_kv_head(dense, q, group, 0, scale);
}

}  // namespace

void paged_attention_kv_head(const paged_kv_layer& kv, const attention_query& query,
                             int32_t num_heads, int32_t kv_head, float scale) {
    if (kv.type == dtype::q8_0 && kv.head_dim % 32 != 0) {
        ACTORLM_CHECK((static_cast<int64_t>(kv.num_kv_heads) * kv.head_dim) % 32 == 0,
                      "q8_0 KV rows of %d x %d values are not whole blocks of 32", kv.num_kv_heads,
                      kv.head_dim);
        paged_attention_q8_0_split_heads(kv, query, num_heads, kv_head, scale);
        return;
    }
    const cpu_level level = active_cpu_level();
    // AVX-512 machines run q8_0 through the AVX2 kernel (they have every AVX2 instruction):
    // the AVX-512 group kernel reads F32 and F16 only.
    if (level == cpu_level::avx512 && kv.type != dtype::q8_0) {
        detail::paged_attention_kv_head_avx512(kv, query, num_heads, kv_head, scale);
        return;
    }
    if (level != cpu_level::portable &&
        detail::paged_attention_kv_head_avx2(kv, query, num_heads, kv_head, scale))
        return;
    const int32_t group = num_heads / kv.num_kv_heads;
    for (int32_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        if (kv.type == dtype::q8_0) {
            detail::paged_attention_head_impl<generic_ops, block_q8_0>(kv, query, num_heads, h,
                                                                       scale);
        } else if (kv.type == dtype::f16) {
            detail::paged_attention_head_impl<generic_ops, uint16_t>(kv, query, num_heads, h,
                                                                     scale);
        } else {
            detail::paged_attention_head_impl<generic_ops, float>(kv, query, num_heads, h, scale);
        }
    }
}

}  // namespace actorlm::cpu

// The paged attention algorithm, written once and instantiated per instruction
// set: `Ops` supplies dot / axpy / exp-sum over head_dim floats for a cache
// element type T (float or fp16 bits). Include only from attention*.cpp.
// Two passes per query token: scores (and their max), then exp and the weighted
// sum of V; the score buffer is thread-local, so calls on disjoint heads may run in parallel.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "cpu/attention.hpp"

namespace actorlm::cpu::detail {

template <class Ops, class T>
void paged_attention_head_impl(const paged_kv_layer& kv, const attention_query& query,
                               int32_t num_heads, int32_t head, float scale) {
    const int64_t hd = kv.head_dim;
    const int64_t bs = kv.block_size;
    const int64_t kv_head = head / (num_heads / kv.num_kv_heads);
    const int64_t slot_stride = static_cast<int64_t>(kv.num_kv_heads) * hd;
    const int64_t block_stride = bs * slot_stride;
    const T* k_base = static_cast<const T*>(kv.k) + kv_head * hd;
    const T* v_base = static_cast<const T*>(kv.v) + kv_head * hd;
    thread_local std::vector<float> scores;

    for (int64_t t = 0; t < query.num_tokens; ++t) {
        const float* q = query.q + t * query.q_stride + head * hd;
        float* out = query.out + t * query.out_stride + head * hd;
        const int64_t n = static_cast<int64_t>(query.positions[t]) + 1;
        if (static_cast<int64_t>(scores.size()) < n) scores.resize(static_cast<size_t>(n));
        float* s = scores.data();

        float max_score = -std::numeric_limits<float>::infinity();
        for (int64_t j0 = 0; j0 < n; j0 += bs) {
            const T* k = k_base + query.block_table[j0 / bs] * block_stride;
            const int64_t count = std::min(bs, n - j0);
            for (int64_t o = 0; o < count; ++o) {
                const float v = Ops::dot(q, k + o * slot_stride, hd) * scale;
                s[j0 + o] = v;
                max_score = std::max(max_score, v);
            }
        }
        const float inv_sum = 1.0f / Ops::exp_shift_sum(s, n, max_score);

        Ops::zero(out, hd);
        for (int64_t j0 = 0; j0 < n; j0 += bs) {
            const T* v = v_base + query.block_table[j0 / bs] * block_stride;
            const int64_t count = std::min(bs, n - j0);
            for (int64_t o = 0; o < count; ++o) Ops::axpy(out, s[j0 + o], v + o * slot_stride, hd);
        }
        Ops::scale(out, inv_sum, hd);
    }
}

}  // namespace actorlm::cpu::detail

// The paged attention algorithm, written once and instantiated per instruction
// set: `Ops` supplies dot / axpy / exp-sum over head_dim floats for a cache
// storage unit T (a float, fp16 bits, or a q8_0 block of 32 values; a head's
// vector is head_dim / kv_unit_elems<T> units). Include only from attention*.cpp.
// Two passes per query token over its keys (the causal context or its sliding
// window): scores (soft-capped when the query asks, and their max), then exp and the weighted sum of V; the score
// buffer is thread-local, so calls on disjoint heads may run in parallel.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cpu/attention.hpp"
#include "cpu/quant_blocks.hpp"

namespace actorlm::cpu::detail {

/// Cache values per storage unit of T: 1 for floats and fp16 bits, 32 for a q8_0 block
/// (whose heads must then be whole blocks: head_dim a multiple of 32).
template <class T>
inline constexpr int64_t kv_unit_elems = 1;
template <>
inline constexpr int64_t kv_unit_elems<block_q8_0> = 32;

/// Calls body(rows, at, count) for each piece of the positions [first, end) of one KV
/// head that lies in one cache block (a sliding window may start mid-block): `rows` is
/// the piece's first row under `base` (the next ones `slot_stride` units apart), `at`
/// its index from `first`.
template <class T, class F>
inline void for_each_block_piece(const T* base, const int32_t* block_table, int64_t first,
                                 int64_t end, int64_t block_size, int64_t slot_stride, F&& body) {
    for (int64_t j = first; j < end;) {
        const int64_t off = j % block_size;
        const int64_t count = std::min(block_size - off, end - j);
        body(base + (block_table[j / block_size] * block_size + off) * slot_stride, j - first,
             count);
        j += count;
    }
}

/// A scaled score after attention soft-capping: cap * tanh(s / cap), or s when cap is 0.
inline float softcap_score(float s, float cap) { return cap > 0.0f ? cap * std::tanh(s / cap) : s; }

template <class Ops, class T>
void paged_attention_head_impl(const paged_kv_layer& kv, const attention_query& query,
                               int32_t num_heads, int32_t head, float scale) {
    const int64_t hd = kv.head_dim;
    const int64_t bs = kv.block_size;
    const int64_t head_units = hd / kv_unit_elems<T>;
    const int64_t kv_head = head / (num_heads / kv.num_kv_heads);
    const int64_t slot_stride = static_cast<int64_t>(kv.num_kv_heads) * head_units;
    const T* k_base = static_cast<const T*>(kv.k) + kv_head * head_units;
    const T* v_base = static_cast<const T*>(kv.v) + kv_head * head_units;
    thread_local std::vector<float> scores;

    for (int64_t t = 0; t < query.num_tokens; ++t) {
        const float* q = query.q + t * query.q_stride + head * hd;
        float* out = query.out + t * query.out_stride + head * hd;
        // Keys [first, end): the causal context, cut to the sliding window when there is one,
        // or the whole sequence when non-causal.
        const int64_t end = attention_key_end(query, t);
        const int64_t first = attention_first_key(query.positions[t], query.sliding_window);
        const int64_t n = end - first;
        if (static_cast<int64_t>(scores.size()) < n) scores.resize(static_cast<size_t>(n));
        float* s = scores.data();

        auto for_each_piece = [&](const T* base, auto&& body) {
            for_each_block_piece(base, query.block_table, first, end, bs, slot_stride, body);
        };
        float max_score = -std::numeric_limits<float>::infinity();
        for_each_piece(k_base, [&](const T* k, int64_t at, int64_t count) {
            for (int64_t o = 0; o < count; ++o) {
                const float v =
                    softcap_score(Ops::dot(q, k + o * slot_stride, hd) * scale, query.softcap);
                s[at + o] = v;
                max_score = std::max(max_score, v);
            }
        });
        const float inv_sum = 1.0f / Ops::exp_shift_sum(s, n, max_score);

        Ops::zero(out, hd);
        for_each_piece(v_base, [&](const T* v, int64_t at, int64_t count) {
            for (int64_t o = 0; o < count; ++o) Ops::axpy(out, s[at + o], v + o * slot_stride, hd);
        });
        Ops::scale(out, inv_sum, hd);
    }
}

}  // namespace actorlm::cpu::detail

// batch_plan: validation and packing of a forward_batch (see batch_plan.hpp).
// Every index the kernels dereference is checked here, so a bad batch from the
// scheduler becomes an error value instead of an out-of-bounds device access.
#include "backends/cuda/batch_plan.hpp"

#include <algorithm>
#include <cstring>

namespace actorlm::cuda {

namespace {

size_t align16(size_t n) { return (n + 15) & ~static_cast<size_t>(15); }

template <class T>
void put(std::vector<uint8_t>& blob, size_t off, const T* data, size_t count) {
    if (count) std::memcpy(blob.data() + off, data, count * sizeof(T));
}

}  // namespace

result<batch_plan> batch_plan::make(const forward_batch& b, const model_config& c,
                                    const kv_cache_spec& kv, int32_t tokens_per_item) {
    const int32_t n = b.num_tokens(), s = b.num_seqs();
    if (n <= 0) return make_error("forward batch has no tokens");
    if (tokens_per_item <= 0) return make_error("attention cannot hold this head grouping");
    if (b.positions.size() != static_cast<size_t>(n) ||
        b.slot_mapping.size() != static_cast<size_t>(n))
        return make_error("forward batch: %d tokens but %zu positions and %zu slots", n,
                          b.positions.size(), b.slot_mapping.size());
    if (b.query_start_loc.size() != static_cast<size_t>(s) + 1)
        return make_error("forward batch: %d sequences need %d query_start_loc entries, got %zu", s,
                          s + 1, b.query_start_loc.size());
    if (b.query_start_loc.front() != 0 || b.query_start_loc.back() != n)
        return make_error("forward batch: query_start_loc must run from 0 to %d", n);
    if (s > 0 && b.max_blocks_per_seq <= 0)
        return make_error("forward batch: max_blocks_per_seq must be positive");
    // One table over every layer: the CUDA backend does not page KV per attention type
    // (backend::pages_kv_groups() is false, so the plan never asks it to).
    if (b.num_kv_groups != 1)
        return make_error("forward batch: %d KV-cache groups, but the CUDA backend keeps one",
                          b.num_kv_groups);
    if (b.block_tables.size() != static_cast<size_t>(s) * static_cast<size_t>(b.max_blocks_per_seq))
        return make_error("forward batch: block_tables has %zu entries, expected %d x %d",
                          b.block_tables.size(), s, b.max_blocks_per_seq);
    if (!b.embedding_overrides.empty())
        return make_error("the CUDA backend does not take image embeddings yet (a forward batch "
                          "with %zu embedding overrides)",
                          b.embedding_overrides.size());
    if (!b.mrope_positions.empty())
        return make_error("the CUDA backend does not run M-RoPE yet (a forward batch with %zu "
                          "M-RoPE positions)",
                          b.mrope_positions.size());
    const int64_t bs = kv.block_size;
    const int64_t num_slots = static_cast<int64_t>(kv.num_blocks) * bs;
    for (int32_t t = 0; t < n; ++t)
        if (b.token_ids[t] < 0 || b.token_ids[t] >= c.vocab_size)
            return make_error("forward batch: token %d has id %d outside the vocabulary of %lld", t,
                              b.token_ids[t], static_cast<long long>(c.vocab_size));

    batch_plan p;
    p.num_tokens = n;
    p.num_seqs = s;
    p.max_blocks_per_seq = b.max_blocks_per_seq;
    std::vector<attention_work_item> items;
    for (int32_t q = 0; q < s; ++q) {
        const int32_t begin = b.query_start_loc[q], end = b.query_start_loc[q + 1];
        if (end < begin) return make_error("forward batch: query_start_loc decreases at %d", q);
        const int32_t seq_len = b.seq_lens[q];
        if (seq_len <= 0 || static_cast<int64_t>(seq_len) > b.max_blocks_per_seq * bs)
            return make_error(
                "forward batch: sequence %d has length %d, its block table holds "
                "%lld tokens",
                q, seq_len, static_cast<long long>(b.max_blocks_per_seq * bs));
        const int32_t* table =
            b.block_tables.data() + static_cast<size_t>(q) * b.max_blocks_per_seq;
        int32_t seq_keys = 0;
        for (int32_t t = begin; t < end; ++t) {
            const int32_t pos = b.positions[t];
            if (pos < 0 || pos >= seq_len)
                return make_error(
                    "forward batch: token %d at position %d outside sequence %d "
                    "of length %d",
                    t, pos, q, seq_len);
            seq_keys = std::max(seq_keys, pos + 1);
            const int64_t slot = b.slot_mapping[t];
            if (slot < 0) continue;  // padding: K/V not written
            const int64_t expected = static_cast<int64_t>(table[pos / bs]) * bs + pos % bs;
            if (slot >= num_slots || slot != expected)
                return make_error(
                    "forward batch: token %d maps to slot %lld, its block table "
                    "says %lld (cache has %lld slots)",
                    t, static_cast<long long>(slot), static_cast<long long>(expected),
                    static_cast<long long>(num_slots));
        }
        for (int64_t k = 0; k < (seq_keys + bs - 1) / bs; ++k)
            if (table[k] < 0 || table[k] >= kv.num_blocks)
                return make_error("forward batch: sequence %d uses block %d of a cache of %d", q,
                                  table[k], kv.num_blocks);
        for (int32_t t = begin; t < end; t += tokens_per_item) {
            attention_work_item it;
            it.seq = q;
            it.first_token = t;
            it.num_tokens = std::min(tokens_per_item, end - t);
            for (int32_t u = t; u < t + it.num_tokens; ++u)
                it.num_keys = std::max(it.num_keys, b.positions[u] + 1);
            p.max_keys = std::max(p.max_keys, it.num_keys);
            items.push_back(it);
        }
    }
    for (size_t i = 0; i < b.logits_indices.size(); ++i)
        if (b.logits_indices[i] < 0 || b.logits_indices[i] >= n)
            return make_error("forward batch: logits index %d outside the %d tokens",
                              b.logits_indices[i], n);

    p.num_items = static_cast<int32_t>(items.size());
    p.num_logits = static_cast<int32_t>(b.logits_indices.size());
    size_t off = 0;
    p.off_token_ids = off;
    off = align16(off + sizeof(int32_t) * n);
    p.off_positions = off;
    off = align16(off + sizeof(int32_t) * n);
    p.off_slots = off;
    off = align16(off + sizeof(int64_t) * n);
    p.off_block_tables = off;
    off = align16(off + sizeof(int32_t) * b.block_tables.size());
    p.off_items = off;
    off = align16(off + sizeof(attention_work_item) * items.size());
    p.off_logits = off;
    off = align16(off + sizeof(int32_t) * b.logits_indices.size());
    p.blob.assign(off, 0);
    put(p.blob, p.off_token_ids, b.token_ids.data(), b.token_ids.size());
    put(p.blob, p.off_positions, b.positions.data(), b.positions.size());
    put(p.blob, p.off_slots, b.slot_mapping.data(), b.slot_mapping.size());
    put(p.blob, p.off_block_tables, b.block_tables.data(), b.block_tables.size());
    put(p.blob, p.off_items, items.data(), items.size());
    put(p.blob, p.off_logits, b.logits_indices.data(), b.logits_indices.size());
    return p;
}

}  // namespace actorlm::cuda

// cpu_executor::check_batch: rejects a malformed forward_batch with a message
// naming the field, before any kernel reads through its indices (a bad slot or
// block id would otherwise write or read outside the KV cache).
#include <string>

#include "backends/cpu/cpu_executor.hpp"

namespace actorlm {

status cpu_executor::check_batch(const forward_batch& b) const {
    const int64_t num_tokens = b.num_tokens();
    const int64_t num_seqs = b.num_seqs();
    const int64_t bs = kv_spec_.block_size;
    if (num_tokens == 0) return make_error("forward batch has no tokens");
    for (const auto& row : b.embedding_overrides)
        if (row.token_index < 0 || row.token_index >= num_tokens || row.values == nullptr)
            return make_error("forward batch: an embedding override at token %d of %lld (or "
                              "without values)",
                              row.token_index, static_cast<long long>(num_tokens));
    if (static_cast<int64_t>(b.positions.size()) != num_tokens ||
        static_cast<int64_t>(b.slot_mapping.size()) != num_tokens)
        return make_error("forward batch: %lld tokens but %zu positions and %zu slots",
                          static_cast<long long>(num_tokens), b.positions.size(),
                          b.slot_mapping.size());
    if (config_.recipe.positions == position_kind::absolute)
        for (int32_t pos : b.positions)
            if (pos < 0 || pos >= config_.max_position)
                return make_error(
                    "forward batch: position %d is outside the model's %lld "
                    "learned positions",
                    pos, static_cast<long long>(config_.max_position));
    if (!config_.recipe.causal) {
        // Bidirectional attention reads every key of the sequence: all of it must be here.
        if (!b.logits_indices.empty())
            return make_error("forward batch asks for logits, but an encoder has no lm head");
        for (int64_t s = 0;
             s < b.num_seqs() && s + 1 < static_cast<int64_t>(b.query_start_loc.size()); ++s) {
            const int32_t begin = b.query_start_loc[static_cast<size_t>(s)];
            const int32_t end = b.query_start_loc[static_cast<size_t>(s) + 1];
            if (end <= begin || end > num_tokens || b.positions[static_cast<size_t>(begin)] != 0 ||
                b.positions[static_cast<size_t>(end) - 1] != end - begin - 1)
                return make_error(
                    "forward batch: an encoder's sequence %lld must be whole in "
                    "one step (positions 0..n-1)",
                    static_cast<long long>(s));
        }
    }
    if (!b.mrope_positions.empty()) {
        if (config_.mrope_section.empty())
            return make_error("forward batch has M-RoPE positions but the model uses ordinary "
                              "RoPE");
        if (static_cast<int64_t>(b.mrope_positions.size()) != 3 * num_tokens)
            return make_error("forward batch: %zu M-RoPE positions for %lld tokens (3 each)",
                              b.mrope_positions.size(), static_cast<long long>(num_tokens));
    }
    if (static_cast<int64_t>(b.query_start_loc.size()) != num_seqs + 1)
        return make_error(
            "forward batch: query_start_loc has %zu entries, expected num_seqs + 1 = %lld",
            b.query_start_loc.size(), static_cast<long long>(num_seqs + 1));
    if (b.query_start_loc.front() != 0 || b.query_start_loc.back() != num_tokens)
        return make_error("forward batch: query_start_loc must run from 0 to num_tokens (%lld)",
                          static_cast<long long>(num_tokens));
    if (b.max_blocks_per_seq <= 0 ||
        static_cast<int64_t>(b.block_tables.size()) != num_seqs * b.max_blocks_per_seq)
        return make_error("forward batch: block_tables has %zu entries, expected %lld seqs x %d",
                          b.block_tables.size(), static_cast<long long>(num_seqs),
                          b.max_blocks_per_seq);
    // Several KV-cache groups: num_kv_groups blocks per block index, group 0's slots.
    const int32_t groups = b.num_kv_groups;
    if (groups != kv_spec_.num_kv_groups || b.max_blocks_per_seq % groups != 0)
        return make_error("forward batch: block tables of %d KV-cache groups (rows of %d) for "
                          "a cache of %d",
                          groups, b.max_blocks_per_seq, kv_spec_.num_kv_groups);
    const int64_t width = b.max_blocks_per_seq / groups;
    for (int64_t s = 0; s < num_seqs; ++s) {
        const int32_t begin = b.query_start_loc[static_cast<size_t>(s)];
        const int32_t end = b.query_start_loc[static_cast<size_t>(s) + 1];
        const int32_t seq_len = b.seq_lens[static_cast<size_t>(s)];
        if (end < begin)
            return make_error("forward batch: query_start_loc decreases at sequence %lld",
                              static_cast<long long>(s));
        if (seq_len < end - begin || static_cast<int64_t>(seq_len) > width * bs)
            return make_error(
                "forward batch: sequence %lld has seq_len %d for %d query tokens and %lld "
                "blocks of %lld",
                static_cast<long long>(s), seq_len, end - begin, static_cast<long long>(width),
                static_cast<long long>(bs));
        const int32_t* table = b.block_tables.data() + s * b.max_blocks_per_seq;
        for (int64_t j = 0; j < (seq_len + bs - 1) / bs * groups; ++j)
            if (table[j] < 0 || table[j] >= kv_spec_.num_blocks)
                return make_error(
                    "forward batch: sequence %lld block %lld is %d, outside the cache's "
                    "%d blocks",
                    static_cast<long long>(s), static_cast<long long>(j), table[j],
                    kv_spec_.num_blocks);
        for (int32_t t = begin; t < end; ++t) {
            const int32_t pos = b.positions[static_cast<size_t>(t)];
            if (pos < 0 || pos >= seq_len)
                return make_error(
                    "forward batch: token %d has position %d outside its sequence's "
                    "length %d",
                    t, pos, seq_len);
            const int64_t slot = static_cast<int64_t>(table[pos / bs * groups]) * bs + pos % bs;
            if (b.slot_mapping[static_cast<size_t>(t)] != slot)
                return make_error(
                    "forward batch: token %d (position %d) maps to slot %lld, but its "
                    "block table puts that position at slot %lld",
                    t, pos, static_cast<long long>(b.slot_mapping[static_cast<size_t>(t)]),
                    static_cast<long long>(slot));
            if (is_first_stage()) {
                const int32_t id = b.token_ids[static_cast<size_t>(t)];
                if (id < 0 || id >= config_.vocab_size)
                    return make_error(
                        "forward batch: token id %d is outside the vocabulary of %lld", id,
                        static_cast<long long>(config_.vocab_size));
            }
        }
    }
    for (int32_t i : b.logits_indices)
        if (i < 0 || i >= num_tokens)
            return make_error("forward batch: logits index %d is outside the %lld tokens", i,
                              static_cast<long long>(num_tokens));
    for (int32_t i : b.hidden_indices)
        if (i < 0 || i >= num_tokens)
            return make_error("forward batch: hidden index %d is outside the %lld tokens", i,
                              static_cast<long long>(num_tokens));
    return {};
}

}  // namespace actorlm

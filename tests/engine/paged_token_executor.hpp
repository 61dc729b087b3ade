// The shared part of the paged test executors (engine_loop_paged_executor.hpp,
// spec_decode_executor.hpp): a one-layer "KV cache" whose slots hold token ids. Each
// forward first stores every scheduled token in its slot; a logits row then reads its
// sequence's context back through the block table, so a wrong slot mapping, block table,
// prefix-hit block, recompute or rollback changes what the "model" sees.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "model/model_executor.hpp"

namespace actorlm::test {

class paged_token_executor : public model_executor {
public:
    const model_config& config() const override { return cfg_; }
    const kv_cache_spec& kv_spec() const override { return spec_; }
    int64_t num_forwards() const { return num_forwards_; }
    /// Positions read only their last `window` positions (model_config::sliding_window).
    void set_sliding_window(int32_t window) { window_ = cfg_.sliding_window = window; }

protected:
    paged_token_executor(int32_t num_blocks, int32_t block_size, int64_t vocab) {
        cfg_.vocab_size = vocab;
        cfg_.num_layers = 1;
        cfg_.num_kv_heads = 1;
        cfg_.head_dim = 1;
        cfg_.max_position = 1 << 20;
        spec_.num_blocks = num_blocks;
        spec_.block_size = block_size;
        slots_.assign(static_cast<size_t>(num_blocks) * static_cast<size_t>(block_size), -1);
    }

    /// Stores every scheduled token in its slot (the "KV write" of a forward pass).
    void store_scheduled_tokens(const forward_batch& b) {
        ++num_forwards_;
        for (int32_t i = 0; i < b.num_tokens(); ++i)
            slots_[static_cast<size_t>(b.slot_mapping[static_cast<size_t>(i)])] =
                b.token_ids[static_cast<size_t>(i)];
    }

    /// The sequence whose token `t` (an index into the batch) is.
    static int32_t sequence_of(const forward_batch& b, int32_t t) {
        int32_t s = 0;
        while (b.query_start_loc[static_cast<size_t>(s) + 1] <= t) ++s;
        return s;
    }

    /// The token at position `p` of sequence `s`, read through its block table.
    int32_t token_at(const forward_batch& b, int32_t s, int32_t p) const {
        const int32_t blk = b.block_tables[static_cast<size_t>(s) *
                                               static_cast<size_t>(b.max_blocks_per_seq) +
                                           static_cast<size_t>(p / spec_.block_size)];
        return slots_[static_cast<size_t>(blk) * static_cast<size_t>(spec_.block_size) +
                      static_cast<size_t>(p % spec_.block_size)];
    }

    /// FNV-1a over positions 0..pos of sequence `s` (only the last `window_` of them when
    /// set, as a sliding-window model reads), through the cache.
    uint64_t context_hash(const forward_batch& b, int32_t s, int32_t pos) const {
        uint64_t h = 1469598103934665603ull;
        for (int32_t p = window_ > 0 ? std::max(pos - window_ + 1, 0) : 0; p <= pos; ++p)
            h = (h ^ static_cast<uint64_t>(token_at(b, s, p) + 7)) * 1099511628211ull;
        return h;
    }

    /// Logits spread over [0, 1000 / divisor) by `h` (so sampling has real choices).
    static void spread_logits(uint64_t h, std::span<float> row, float divisor) {
        for (size_t j = 0; j < row.size(); ++j) {
            uint64_t x = (h ^ (j * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
            x ^= x >> 29;
            row[j] = static_cast<float>(x % 1000) / divisor;
        }
    }

    model_config cfg_;
    kv_cache_spec spec_;
    int32_t window_ = 0;  // > 0: the context a position reads is its sliding window

private:
    std::vector<int32_t> slots_;
    int64_t num_forwards_ = 0;
};

}  // namespace actorlm::test

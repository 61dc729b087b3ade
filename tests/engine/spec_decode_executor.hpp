// A test executor for speculative decoding: a real paged KV cache (every scheduled
// token is written into its slot first) and a "model" that mostly copies — the
// favoured next token is the one `period` positions back, read through the block
// table — and, where a hash of the whole paged context says so, favours another
// token. Repetitive output makes n-gram drafts get accepted; the hash-chosen
// deviations make some get rejected; and since everything is read back through the
// cache, stale KV of a rejected draft, a wrong rollback or a bad block table changes
// the output, which the tests compare with non-speculative decoding.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model_executor.hpp"

namespace actorlm::test {

class copy_hash_executor : public model_executor {
public:
    /// One context position in `deviate_every` (by hash) favours a hash-chosen token.
    copy_hash_executor(int32_t num_blocks, int32_t block_size, int64_t vocab, int32_t period,
                       int32_t deviate_every = 5)
        : period_(period), deviate_every_(deviate_every) {
        cfg_.vocab_size = vocab;
        cfg_.num_layers = 1;
        cfg_.num_kv_heads = 1;
        cfg_.head_dim = 1;
        cfg_.max_position = 1 << 20;
        spec_.num_blocks = num_blocks;
        spec_.block_size = block_size;
        slots_.assign(static_cast<size_t>(num_blocks) * static_cast<size_t>(block_size), -1);
    }
    const model_config& config() const override { return cfg_; }
    const kv_cache_spec& kv_spec() const override { return spec_; }

    status forward(const forward_batch& b, std::vector<float>& logits) override {
        ++num_forwards_;
        for (int32_t i = 0; i < b.num_tokens(); ++i)
            slots_[static_cast<size_t>(b.slot_mapping[static_cast<size_t>(i)])] =
                b.token_ids[static_cast<size_t>(i)];
        const auto v = static_cast<size_t>(cfg_.vocab_size);
        logits.assign(b.logits_indices.size() * v, 0.0f);
        for (size_t k = 0; k < b.logits_indices.size(); ++k) {
            const int32_t t = b.logits_indices[k];
            int32_t s = 0;
            while (b.query_start_loc[static_cast<size_t>(s) + 1] <= t) ++s;
            const int32_t pos = b.positions[static_cast<size_t>(t)];
            auto token_at = [&](int32_t p) {
                const int32_t blk = b.block_tables[static_cast<size_t>(s) *
                                                       static_cast<size_t>(b.max_blocks_per_seq) +
                                                   static_cast<size_t>(p / spec_.block_size)];
                return slots_[static_cast<size_t>(blk) * static_cast<size_t>(spec_.block_size) +
                              static_cast<size_t>(p % spec_.block_size)];
            };
            uint64_t h = 1469598103934665603ull;
            for (int32_t p = 0; p <= pos; ++p)
                h = (h ^ static_cast<uint64_t>(token_at(p) + 7)) * 1099511628211ull;
            // A spread of logits (so sampling at temperature 1 has real choices) ...
            for (size_t j = 0; j < v; ++j) {
                uint64_t x = (h ^ (j * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
                x ^= x >> 29;
                logits[k * v + j] = static_cast<float>(x % 1000) / 500.0f;  // 0 .. 2
            }
            // ... with the copied token favoured, unless the context hash deviates.
            const int32_t src = pos + 1 - period_;
            if (src >= 0 && (h >> 17) % static_cast<uint64_t>(deviate_every_) != 0) {
                const int32_t copy = token_at(src);
                if (copy >= 0 && static_cast<size_t>(copy) < v)
                    logits[k * v + static_cast<size_t>(copy)] += 4.0f;
            }
        }
        return status::success();
    }

    int64_t num_forwards() const { return num_forwards_; }

private:
    model_config cfg_;
    kv_cache_spec spec_;
    int32_t period_;
    int32_t deviate_every_;
    std::vector<int32_t> slots_;
    int64_t num_forwards_ = 0;
};

}  // namespace actorlm::test

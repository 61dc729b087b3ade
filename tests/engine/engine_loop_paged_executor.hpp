// A test executor with a real paged KV cache whose "model" is a hash of the
// context: forward() first writes every scheduled token into its slot, then, for
// each logits index, reads the sequence's whole context back through its block
// table and derives logits from it. Wrong slot mapping, block tables, prefix-hit
// blocks or recompute after preemption change the logits, so comparing outputs
// with a run alone (large pool, no sharing) checks the core's KV bookkeeping.
// It can also be told to fail, to test error paths.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model_executor.hpp"

namespace actorlm::test {

class paged_hash_executor : public model_executor {
public:
    paged_hash_executor(int32_t num_blocks, int32_t block_size, int64_t vocab = 64) {
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
        if (fail_next_) {
            fail_next_ = false;
            return make_error("injected executor failure");
        }
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
            uint64_t h = 1469598103934665603ull;
            for (int32_t p = 0; p <= pos; ++p) {
                const int32_t blk = b.block_tables[static_cast<size_t>(s) *
                                                       static_cast<size_t>(b.max_blocks_per_seq) +
                                                   static_cast<size_t>(p / spec_.block_size)];
                const int32_t tok =
                    slots_[static_cast<size_t>(blk) * static_cast<size_t>(spec_.block_size) +
                           static_cast<size_t>(p % spec_.block_size)];
                h = (h ^ static_cast<uint64_t>(tok + 7)) * 1099511628211ull;
            }
            for (size_t j = 0; j < v; ++j) {
                uint64_t x = (h ^ (j * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
                x ^= x >> 29;
                logits[k * v + j] = static_cast<float>(x % 1000) / 200.0f;  // 0 .. 5
            }
        }
        return status::success();
    }

    void fail_next() { fail_next_ = true; }
    int64_t num_forwards() const { return num_forwards_; }

private:
    model_config cfg_;
    kv_cache_spec spec_;
    std::vector<int32_t> slots_;
    bool fail_next_ = false;
    int64_t num_forwards_ = 0;
};

}  // namespace actorlm::test

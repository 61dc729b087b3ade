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

#include "paged_token_executor.hpp"

namespace actorlm::test {

class paged_hash_executor : public paged_token_executor {
public:
    paged_hash_executor(int32_t num_blocks, int32_t block_size, int64_t vocab = 64)
        : paged_token_executor(num_blocks, block_size, vocab) {}

    status forward(const forward_batch& b, std::vector<float>& logits) override {
        if (fail_next_) {
            fail_next_ = false;
            return make_error("injected executor failure");
        }
        store_scheduled_tokens(b);
        const auto v = static_cast<size_t>(cfg_.vocab_size);
        logits.assign(b.logits_indices.size() * v, 0.0f);
        for (size_t k = 0; k < b.logits_indices.size(); ++k) {
            const int32_t t = b.logits_indices[k];
            const int32_t pos = b.positions[static_cast<size_t>(t)];
            spread_logits(context_hash(b, sequence_of(b, t), pos),
                          std::span<float>(logits).subspan(k * v, v), 200.0f);  // 0 .. 5
        }
        return status::success();
    }

    void fail_next() { fail_next_ = true; }

private:
    bool fail_next_ = false;
};

}  // namespace actorlm::test

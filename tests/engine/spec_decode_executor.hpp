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

#include "paged_token_executor.hpp"

namespace actorlm::test {

class copy_hash_executor : public paged_token_executor {
public:
    /// One context position in `deviate_every` (by hash) favours a hash-chosen token.
    copy_hash_executor(int32_t num_blocks, int32_t block_size, int64_t vocab, int32_t period,
                       int32_t deviate_every = 5)
        : paged_token_executor(num_blocks, block_size, vocab),
          period_(period),
          deviate_every_(deviate_every) {}

    status forward(const forward_batch& b, std::vector<float>& logits) override {
        store_scheduled_tokens(b);
        const auto v = static_cast<size_t>(cfg_.vocab_size);
        logits.assign(b.logits_indices.size() * v, 0.0f);
        for (size_t k = 0; k < b.logits_indices.size(); ++k) {
            const int32_t t = b.logits_indices[k];
            const int32_t s = sequence_of(b, t);
            const int32_t pos = b.positions[static_cast<size_t>(t)];
            const uint64_t h = context_hash(b, s, pos);
            // A spread of logits (so sampling at temperature 1 has real choices) ...
            spread_logits(h, std::span<float>(logits).subspan(k * v, v), 500.0f);  // 0 .. 2
            // ... with the copied token favoured, unless the context hash deviates.
            const int32_t src = pos + 1 - period_;
            if (src >= 0 && (h >> 17) % static_cast<uint64_t>(deviate_every_) != 0) {
                const int32_t copy = token_at(b, s, src);
                if (copy >= 0 && static_cast<size_t>(copy) < v)
                    logits[k * v + static_cast<size_t>(copy)] += 4.0f;
            }
        }
        return status::success();
    }

private:
    int32_t period_;
    int32_t deviate_every_;
};

}  // namespace actorlm::test

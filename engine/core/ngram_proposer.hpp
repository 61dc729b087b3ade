// ngram_proposer: prompt-lookup drafting (vLLM's NgramProposer). For a token
// history (prompt + output), find the longest suffix n-gram, of length between
// prompt_lookup_min and prompt_lookup_max, that also occurred earlier, and propose
// the tokens that followed its earliest occurrence. No model, no state beyond a
// scratch buffer; single-threaded (one per scheduler).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace actorlm::core {

class ngram_proposer {
public:
    /// 1 <= min_n <= max_n (speculative_config checks it).
    ngram_proposer(int32_t min_n, int32_t max_n);

    /// Up to `k` draft tokens continuing `tokens`; empty when no suffix of at least min_n
    /// tokens occurred before. Among earlier occurrences of the longest matching suffix
    /// (capped at max_n) the earliest wins, as vLLM picks. The proposal may run into the
    /// suffix itself (a periodic history proposes its next period), never past the end.
    /// O(tokens.size()).
    std::vector<int32_t> propose(std::span<const int32_t> tokens, int32_t k);

private:
    int32_t min_n_;
    int32_t max_n_;
    std::vector<int32_t> z_;  // Z-function of the reversed history (scratch)
};

}  // namespace actorlm::core

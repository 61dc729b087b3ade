// ngram_proposer implementation. Reversing the history turns "suffixes that occur
// earlier" into "prefixes of the reversed sequence that recur at offset i": the
// Z-function gives, for every offset i >= 1, the length of that common prefix in
// linear time. An n-gram ending at original index L - 1 - i is followed by the token
// at L - i.
#include "core/ngram_proposer.hpp"

#include <algorithm>

#include "base/check.hpp"

namespace actorlm::core {

ngram_proposer::ngram_proposer(int32_t min_n, int32_t max_n) : min_n_(min_n), max_n_(max_n) {
    ACTORLM_CHECK(min_n >= 1 && min_n <= max_n, "ngram_proposer(%d, %d)", min_n, max_n);
}

std::vector<int32_t> ngram_proposer::propose(std::span<const int32_t> tokens, int32_t k) {
    const auto len = static_cast<int32_t>(tokens.size());
    if (k <= 0 || len <= min_n_) return {};
    // rev(j) = tokens[len - 1 - j]: the history read backwards from its last token.
    auto rev = [&](int32_t j) { return tokens[static_cast<size_t>(len - 1 - j)]; };
    z_.assign(static_cast<size_t>(len), 0);
    int32_t best_len = 0, best_at = 0;
    // Standard Z-algorithm over rev; [l, r) is the rightmost window matching a prefix.
    int32_t l = 0, r = 0;
    for (int32_t i = 1; i < len; ++i) {
        int32_t z = 0;
        if (i < r) z = std::min(r - i, z_[static_cast<size_t>(i - l)]);
        // Matches longer than max_n are worth no more than max_n: stop extending there,
        // which also bounds the work per offset.
        while (z < max_n_ && i + z < len && rev(z) == rev(i + z)) ++z;
        z_[static_cast<size_t>(i)] = z;
        if (i + z > r) {
            l = i;
            r = i + z;
        }
        // Ties go to the larger offset: the earliest occurrence in the history.
        if (z >= best_len && z > 0) {
            best_len = z;
            best_at = i;
        }
    }
    if (best_len < min_n_) return {};
    const int32_t start = len - best_at;  // first token after the matched occurrence
    const int32_t n = std::min(k, len - start);
    return std::vector<int32_t>(tokens.begin() + start, tokens.begin() + start + n);
}

}  // namespace actorlm::core

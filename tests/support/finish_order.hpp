// Makes the n sequences of a seeded request end in a chosen order, with no
// scripted model: stop_token_ids picked from the children's unconstrained
// outputs. Stop tokens never change what is sampled (min_tokens = 0), so each
// child produces exactly a prefix of its unconstrained tokens and ends at the
// first token of the set (or by length). Used by the engine and actor tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace actorlm::test {

/// Stop token ids under which children with unconstrained tokens `seqs` (all of
/// one length) finish in `order`, at least two steps apart; the last one may end
/// by length instead. Empty when no such set exists.
inline std::vector<int32_t> stop_tokens_for_order(const std::vector<std::vector<int32_t>>& seqs,
                                                  const std::vector<int32_t>& order) {
    const auto t = static_cast<int32_t>(seqs.at(0).size());
    const size_t n = order.size();
    std::vector<int32_t> pos(n, 1);  // stop position per slot of `order`; t = by length
    auto ends_at = [&](const std::vector<int32_t>& stops, int32_t child) {
        const auto& s = seqs.at(static_cast<size_t>(child));
        for (int32_t i = 0; i < t; ++i)
            if (std::find(stops.begin(), stops.end(), s[static_cast<size_t>(i)]) != stops.end())
                return i;
        return t - 1;
    };
    while (true) {
        bool ordered = true;
        for (size_t i = 1; i < n; ++i) ordered = ordered && pos[i] >= pos[i - 1] + 2;
        if (ordered) {
            std::vector<int32_t> stops;
            for (size_t i = 0; i < n; ++i)
                if (pos[i] < t)
                    stops.push_back(
                        seqs[static_cast<size_t>(order[i])][static_cast<size_t>(pos[i])]);
            bool ok = true;
            for (size_t i = 0; i < n && ok; ++i)
                ok = ends_at(stops, order[i]) == std::min(pos[i], t - 1);
            if (ok) return stops;
        }
        size_t i = 0;  // the next candidate: an odometer over positions 1..t
        while (i < n && ++pos[i] > t) pos[i++] = 1;
        if (i == n) return {};
    }
}

}  // namespace actorlm::test

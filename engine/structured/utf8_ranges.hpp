// utf8_ranges: sets of Unicode code points (sorted closed ranges) and their translation to
// UTF-8 byte-set sequences, so that a character class such as [^"\\] or [α-ω] becomes a
// byte-level grammar that accepts exactly the valid UTF-8 encodings of its members
// (surrogates excluded). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "structured/byte_set.hpp"

namespace actorlm::structured {

inline constexpr uint32_t k_max_code_point = 0x10FFFF;

/// Closed code point ranges, kept sorted and disjoint by normalize().
struct code_point_set {
    std::vector<std::pair<uint32_t, uint32_t>> ranges;

    void add(uint32_t lo, uint32_t hi) { ranges.push_back({lo, hi}); }
    void add(uint32_t c) { ranges.push_back({c, c}); }
    void add_all(const code_point_set& o) {
        ranges.insert(ranges.end(), o.ranges.begin(), o.ranges.end());
    }
    /// Sorts and merges overlapping or adjacent ranges.
    void normalize();
    /// Everything in [0, k_max_code_point] not in this set (normalizes first).
    code_point_set complement() const;
    bool contains(uint32_t c) const;
    bool empty() const { return ranges.empty(); }
};

/// The UTF-8 encodings of `set` as alternatives, each a sequence of byte sets (one per
/// byte); all one-byte members share a single alternative.
std::vector<std::vector<byte_set>> utf8_sequences(const code_point_set& set);

}  // namespace actorlm::structured

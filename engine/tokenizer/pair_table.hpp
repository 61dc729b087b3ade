// Open-addressing hash table from a symbol pair (left id, right id) to its merge: the rank
// (lower merges first) and the id of the merged token. Built once at load, then read-only,
// so lookups are thread-safe. Linear probing over a power-of-two table of 16-byte slots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace actorlm::tok {

/// What merging a pair produces.
struct merge_rule {
    int32_t rank = -1;    ///< priority: lower merges first; -1 = no such merge
    int32_t merged = -1;  ///< id of the merged token
};

/// Pair -> merge_rule map.
class pair_table {
public:
    /// Sizes the table for `n` entries (call before insert for speed; it also grows).
    void reserve(size_t n);

    /// Adds a rule; an existing pair keeps its first (lowest-rank) rule, as HF and llama.cpp
    /// keep the first listed merge.
    void insert(int32_t left, int32_t right, merge_rule rule);

    /// The rule for (left, right), or rank -1 when the pair never merges.
    merge_rule find(int32_t left, int32_t right) const {
        if (slots_.empty()) return {};
        const uint64_t key = pack(left, right);
        size_t i = hash(key) & mask_;
        while (true) {
            const slot& s = slots_[i];
            if (s.key == key) return s.rule;
            if (s.key == k_empty) return {};
            i = (i + 1) & mask_;
        }
    }

    size_t size() const { return size_; }

private:
    static constexpr uint64_t k_empty = ~uint64_t{0};
    struct slot {
        uint64_t key = k_empty;
        merge_rule rule;
    };
    static uint64_t pack(int32_t l, int32_t r) {
        return (uint64_t{static_cast<uint32_t>(l)} << 32) | static_cast<uint32_t>(r);
    }
    static size_t hash(uint64_t k) {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdULL;
        k ^= k >> 33;
        return static_cast<size_t>(k);
    }
    void rehash(size_t capacity);

    std::vector<slot> slots_;
    size_t mask_ = 0;
    size_t size_ = 0;
};

}  // namespace actorlm::tok

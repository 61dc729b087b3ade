// byte_set: a set of byte values (256 bits), the terminal of every grammar in
// engine/structured. Grammars work on bytes, not code points, because token masks are
// computed over token byte strings; multi-byte UTF-8 characters become sequences of
// byte sets (utf8_ranges.hpp). A value type; no invariants beyond its bits.
#pragma once

#include <array>
#include <cstdint>

namespace actorlm::structured {

struct byte_set {
    std::array<uint64_t, 4> bits{};

    bool contains(uint8_t b) const { return (bits[b >> 6] >> (b & 63)) & 1u; }
    void add(uint8_t b) { bits[b >> 6] |= uint64_t{1} << (b & 63); }
    void add_range(uint8_t lo, uint8_t hi) {
        for (unsigned b = lo; b <= hi; ++b) add(static_cast<uint8_t>(b));
    }
    void add_all(const byte_set& o) {
        for (int i = 0; i < 4; ++i) bits[i] |= o.bits[i];
    }
    bool empty() const { return (bits[0] | bits[1] | bits[2] | bits[3]) == 0; }
    int count() const {
        return __builtin_popcountll(bits[0]) + __builtin_popcountll(bits[1]) +
               __builtin_popcountll(bits[2]) + __builtin_popcountll(bits[3]);
    }
    static byte_set single(uint8_t b) {
        byte_set s;
        s.add(b);
        return s;
    }
    static byte_set range(uint8_t lo, uint8_t hi) {
        byte_set s;
        s.add_range(lo, hi);
        return s;
    }
    friend bool operator==(const byte_set&, const byte_set&) = default;
};

}  // namespace actorlm::structured

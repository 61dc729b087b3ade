// utf8_ranges: code point range algebra and the range -> UTF-8 byte-range split (the
// classic construction: split a range until every byte position spans a full range).
#include "structured/utf8_ranges.hpp"

#include <algorithm>
#include <string>

#include "tokenizer/utf8.hpp"

namespace actorlm::structured {

void code_point_set::normalize() {
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto& r : ranges) {
        if (!merged.empty() && r.first <= merged.back().second + 1)
            merged.back().second = std::max(merged.back().second, r.second);
        else
            merged.push_back(r);
    }
    ranges = std::move(merged);
}

code_point_set code_point_set::complement() const {
    code_point_set sorted = *this;
    sorted.normalize();
    code_point_set out;
    uint32_t next = 0;
    for (const auto& [lo, hi] : sorted.ranges) {
        if (lo > next) out.add(next, lo - 1);
        next = hi + 1;
    }
    if (next <= k_max_code_point) out.add(next, k_max_code_point);
    return out;
}

bool code_point_set::contains(uint32_t c) const {
    for (const auto& [lo, hi] : ranges)
        if (c >= lo && c <= hi) return true;
    return false;
}

namespace {

int encoded_length(uint32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

// Emits [lo, hi] (same encoded length) as byte-range sequences, splitting until each byte
// position's range is independent of the others.
void split(uint32_t lo, uint32_t hi, std::vector<std::vector<byte_set>>& out) {
    const int n = encoded_length(lo);
    for (int i = 1; i < n; ++i) {
        const uint32_t m = (uint32_t{1} << (6 * i)) - 1;
        if ((lo & ~m) != (hi & ~m)) {
            if ((lo & m) != 0) {
                split(lo, lo | m, out);
                split((lo | m) + 1, hi, out);
                return;
            }
            if ((hi & m) != m) {
                split(lo, (hi & ~m) - 1, out);
                split(hi & ~m, hi, out);
                return;
            }
        }
    }
    std::string a, b;
    tok::append_utf8(a, lo);
    tok::append_utf8(b, hi);
    std::vector<byte_set> seq;
    for (size_t k = 0; k < a.size(); ++k)
        seq.push_back(byte_set::range(static_cast<uint8_t>(a[k]), static_cast<uint8_t>(b[k])));
    out.push_back(std::move(seq));
}

}  // namespace

std::vector<std::vector<byte_set>> utf8_sequences(const code_point_set& set) {
    code_point_set s = set;
    s.normalize();
    std::vector<std::vector<byte_set>> out;
    byte_set ascii;
    const uint32_t bounds[] = {0x7F, 0x7FF, 0xFFFF, k_max_code_point};
    for (auto [lo, hi] : s.ranges) {
        hi = std::min(hi, k_max_code_point);
        while (lo <= hi) {
            // Surrogates have no UTF-8 encoding.
            if (lo >= 0xD800 && lo <= 0xDFFF) {
                lo = 0xE000;
                continue;
            }
            uint32_t end = hi;
            for (uint32_t b : bounds)
                if (lo <= b) {
                    end = std::min(end, b);
                    break;
                }
            if (lo < 0xD800 && end >= 0xD800) end = 0xD7FF;
            if (end < 0x80)
                ascii.add_range(static_cast<uint8_t>(lo), static_cast<uint8_t>(end));
            else
                split(lo, end, out);
            if (end == k_max_code_point) break;
            lo = end + 1;
        }
    }
    if (!ascii.empty()) out.insert(out.begin(), std::vector<byte_set>{ascii});
    return out;
}

}  // namespace actorlm::structured

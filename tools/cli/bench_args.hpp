// Option-value parsing shared by the hand-parsed benchmark commands
// (bench-forward, bench-matmul): positive integers and comma-separated lists.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace actorlm::cli {

/// A whole decimal number > 0; false for anything else.
inline bool parse_positive_int(const std::string& s, int64_t& out) {
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v <= 0) return false;
    out = v;
    return true;
}

/// "1,8,32" -> {1, 8, 32}; false if any element is not a positive integer.
inline bool parse_positive_int_list(const std::string& s, std::vector<int64_t>& out) {
    out.clear();
    for (size_t start = 0; start <= s.size();) {
        size_t comma = s.find(',', start);
        if (comma == std::string::npos) comma = s.size();
        int64_t n = 0;
        if (!parse_positive_int(s.substr(start, comma - start), n)) return false;
        out.push_back(n);
        start = comma + 1;
    }
    return true;
}

}  // namespace actorlm::cli

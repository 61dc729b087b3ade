// Option-value parsing shared by the hand-parsed benchmark commands
// (bench-forward, bench-matmul): positive integers and comma-separated lists.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>
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

/// The shared front of a hand-parsed bench command: `--help` prints `usage` (exit 0),
/// a parse error prints the message and the usage (exit 2). Returns the options, or
/// nullopt with *exit_code set. `parse` maps the arguments to a result<Options>.
template <class Parse>
auto parse_bench_options(const char* command, const char* usage,
                         const std::vector<std::string>& args, Parse parse, int* exit_code)
    -> std::optional<std::decay_t<decltype(*parse(args))>> {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
        std::fputs(usage, stdout);
        *exit_code = 0;
        return std::nullopt;
    }
    auto parsed = parse(args);
    if (!parsed.ok()) {
        std::fprintf(stderr, "%s: %s\n%s", command, parsed.message().c_str(), usage);
        *exit_code = 2;
        return std::nullopt;
    }
    return std::move(*parsed);
}

}  // namespace actorlm::cli

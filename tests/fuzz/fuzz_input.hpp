// fuzz_input: what the libFuzzer targets share: splitting one input into the several
// texts a loader reads (a tokenizer.json and its tokenizer_config.json, a template and
// its messages), and the property check that turns a broken invariant into a crash
// libFuzzer reports. Header-only; each target is its own executable.
#pragma once

#include <cstdlib>
#include <string_view>
#include <vector>

namespace actorlm::fuzz {

/// Aborts (libFuzzer saves the input) when a property of the code under test fails.
inline void require(bool ok) {
    if (!ok) std::abort();
}

/// The input cut at NUL bytes into at most `count` parts (the last keeps any further NULs);
/// missing parts are empty. JSON and template text never contain a raw NUL, so seeds stay
/// readable: `printf 'template\0messages'`.
inline std::vector<std::string_view> split_parts(std::string_view input, size_t count) {
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < count) {
        size_t nul = input.find('\0');
        if (nul == std::string_view::npos) break;
        parts.push_back(input.substr(0, nul));
        input.remove_prefix(nul + 1);
    }
    parts.push_back(input);
    parts.resize(count);
    return parts;
}

}  // namespace actorlm::fuzz

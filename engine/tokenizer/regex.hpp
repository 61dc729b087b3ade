// A compiled PCRE2 pattern (UTF + UCP, JIT-compiled once) used by Split pre-tokenizers and
// Replace normalizers. Matching is const and thread-safe: each call uses its own match data
// (a thread_local scratch block), and the compiled code is never modified after creation.
// Text that is not valid UTF-8 is accepted (PCRE2_MATCH_INVALID_UTF): invalid bytes never match.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace actorlm::tok {

/// One compiled regular expression.
class regex {
public:
    /// Compiles `pattern` (Oniguruma/HF syntax is mostly PCRE-compatible); the error names the
    /// pattern and PCRE2's message with its offset.
    static result<std::shared_ptr<const regex>> compile(const std::string& pattern);

    /// Compiles a literal string (for Replace/Split with a "String" pattern).
    static result<std::shared_ptr<const regex>> literal(const std::string& text);

    ~regex();
    regex(const regex&) = delete;
    regex& operator=(const regex&) = delete;

    /// Finds the first match in `text` at or after `from`; sets [begin, end) and returns true.
    /// Empty matches are reported as such; callers advance past them.
    bool find(std::string_view text, size_t from, size_t& begin, size_t& end) const;

    /// The source pattern, for error messages.
    const std::string& pattern() const { return pattern_; }

private:
    regex() = default;
    std::string pattern_;
    void* code_ = nullptr;  // pcre2_code_8*
    bool jit_ = false;
};

}  // namespace actorlm::tok

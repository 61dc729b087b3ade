// Added tokens (HF `added_tokens`, GGUF control/user-defined tokens): strings matched in the
// input before the model sees it, leftmost-longest. Special ones only when the caller parses
// special tokens; non-special ones always (as HF and llama.cpp do). Honours lstrip/rstrip
// (absorb neighbouring whitespace) and single_word (not inside a word).
// Immutable after construction; split() is const and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace actorlm::tok {

/// One added token.
struct added_token {
    std::string content;
    int32_t id = -1;
    bool special = false;
    bool lstrip = false, rstrip = false, single_word = false, normalized = false;
};

/// One stretch of input: either plain text for the normalizer/model or a matched token.
struct text_fragment {
    std::string_view text;  ///< the plain text (empty for a token)
    int32_t token = -1;     ///< matched token id, or -1 for text
    size_t offset = 0;      ///< byte offset of the fragment in the input
};

/// Leftmost-longest matcher over the added tokens.
class added_token_matcher {
public:
    void add(added_token t);
    const std::vector<added_token>& tokens() const { return tokens_; }

    /// Cuts `text` into text and token fragments. With `parse_special` false only
    /// non-special tokens are recognized.
    std::vector<text_fragment> split(std::string_view text, bool parse_special) const;

private:
    std::vector<added_token> tokens_;
    std::array<std::vector<uint32_t>, 256> by_first_byte_;  ///< indices, longest first
    bool any_non_special_ = false;
};

}  // namespace actorlm::tok

// parse_cursor: the position, error and escape helpers shared by the EBNF and regex
// parsers (UTF-8 decoding of the source text, \x / \u escapes, line:column in messages,
// a nesting-depth guard against stack exhaustion). One per parse; not shared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace actorlm::structured {

/// Deepest nesting of groups a parser accepts ((((...)))).
inline constexpr int k_max_parse_depth = 200;

class parse_cursor {
public:
    explicit parse_cursor(std::string_view text) : text_(text) {}

    bool at_end() const { return pos_ >= text_.size(); }
    char peek(size_t ahead = 0) const {
        return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
    }
    char next() { return text_[pos_++]; }
    bool consume(char c) {
        if (peek() == c && !at_end()) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool consume(std::string_view s) {
        if (text_.substr(pos_, s.size()) != s) return false;
        pos_ += s.size();
        return true;
    }
    size_t pos() const { return pos_; }
    void set_pos(size_t p) { pos_ = p; }
    std::string_view rest() const { return text_.substr(pos_); }

    /// Decodes one UTF-8 character; nullopt (and an error) on malformed input.
    std::optional<uint32_t> next_code_point();
    /// After a backslash: the character an escape denotes for \x, \u, \U and the C
    /// escapes \n \t \r \f \v \0; any other escaped character stands for itself.
    std::optional<uint32_t> escape_value();

    /// Records the first error, naming the line and column of the current position.
    void fail(const std::string& what);
    bool failed() const { return !error_.empty(); }
    const std::string& error_message() const { return error_; }

private:
    std::string_view text_;
    size_t pos_ = 0;
    std::string error_;
};

}  // namespace actorlm::structured

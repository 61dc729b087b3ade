// parse_cursor: UTF-8 decoding, escapes and positioned error messages for the parsers.
#include "structured/parse_cursor.hpp"

namespace actorlm::structured {

std::optional<uint32_t> parse_cursor::next_code_point() {
    if (at_end()) {
        fail("unexpected end of text");
        return std::nullopt;
    }
    const auto b0 = static_cast<uint8_t>(next());
    if (b0 < 0x80) return b0;
    int extra = b0 >= 0xF0 && b0 < 0xF8 ? 3 : b0 >= 0xE0 ? 2 : b0 >= 0xC0 ? 1 : -1;
    if (extra < 0) {
        fail("invalid UTF-8");
        return std::nullopt;
    }
    uint32_t c = b0 & (0x3F >> extra);
    for (int i = 0; i < extra; ++i) {
        const auto b = static_cast<uint8_t>(peek());
        if (at_end() || (b & 0xC0) != 0x80) {
            fail("invalid UTF-8");
            return std::nullopt;
        }
        ++pos_;
        c = (c << 6) | (b & 0x3F);
    }
    return c;
}

std::optional<uint32_t> parse_cursor::escape_value() {
    if (at_end()) {
        fail("a backslash ends the text");
        return std::nullopt;
    }
    const char c = peek();
    int hex_digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (hex_digits > 0) {
        ++pos_;
        uint32_t v = 0;
        for (int i = 0; i < hex_digits; ++i) {
            const char h = peek();
            int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (d < 0 || at_end()) {
                fail(std::string("escape \\") + c + " needs " + std::to_string(hex_digits) +
                     " hex digits");
                return std::nullopt;
            }
            ++pos_;
            v = v * 16 + static_cast<uint32_t>(d);
        }
        if (v > 0x10FFFF) {
            fail("escape beyond U+10FFFF");
            return std::nullopt;
        }
        return v;
    }
    switch (c) {
        case 'n': ++pos_; return '\n';
        case 't': ++pos_; return '\t';
        case 'r': ++pos_; return '\r';
        case 'f': ++pos_; return '\f';
        case 'v': ++pos_; return '\v';
        case '0': ++pos_; return 0;
        default: return next_code_point();
    }
}

void parse_cursor::fail(const std::string& what) {
    if (!error_.empty()) return;
    int line = 1, column = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
        if (text_[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    error_ = what + " (line " + std::to_string(line) + ", column " + std::to_string(column) + ")";
}

}  // namespace actorlm::structured

// Jinja2 lexer following jinja2/lexer.py's rules for HF's environment: tags are found
// left to right; `{%-`/`-%}` strip all whitespace on that side; lstrip_blocks removes a
// line's indentation before `{%`/`{#`; trim_blocks removes the newline after `%}`/`#}`.
// Stateless functions; safe from any thread.
#include "chat/jinja_lexer.hpp"

#include <cctype>
#include <charconv>
#include <cstring>

#include "chat/jinja_value.hpp"

namespace actorlm::jinja {

namespace {

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

class lexer {
public:
    lexer(std::string source, const lexer_options& options) : opt_(options) {
        // Jinja normalizes every newline sequence to "\n" and drops one trailing newline.
        src_.reserve(source.size());
        for (std::size_t i = 0; i < source.size(); ++i) {
            if (source[i] == '\r') {
                src_ += '\n';
                if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
            } else {
                src_ += source[i];
            }
        }
        if (!opt_.keep_trailing_newline && !src_.empty() && src_.back() == '\n') src_.pop_back();
        line_starts_.push_back(0);
        for (std::size_t i = 0; i < src_.size(); ++i)
            if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }

    std::vector<token> run() {
        std::size_t pos = 0;
        bool line_starting = true;
        const std::size_t n = src_.size();
        while (pos < n) {
            std::size_t t = find_tag(pos);
            if (t == std::string::npos) {
                emit_text(pos, src_.substr(pos));
                break;
            }
            char kind = src_[t + 1];
            char sign = t + 2 < n && (src_[t + 2] == '-' || src_[t + 2] == '+') ? src_[t + 2] : 0;
            std::string text = src_.substr(pos, t - pos);
            apply_left_strip(text, sign, kind != '{', line_starting);
            emit_text(pos, std::move(text));
            std::size_t p = t + 2 + (sign ? 1 : 0);
            if (kind == '#') {
                pos = lex_comment(t, p);
            } else if (kind == '%' && is_raw_begin(p)) {
                pos = lex_raw(t, p);
            } else {
                pos = lex_tag(t, p, kind == '%');
            }
            line_starting = pos > 0 && src_[pos - 1] == '\n';
        }
        out_.push_back(make(token_kind::eof, "", n));
        return std::move(out_);
    }

private:
    token make(token_kind k, std::string v, std::size_t offset) const {
        token t{k, std::move(v), 1, 1};
        std::size_t lo = 0, hi = line_starts_.size();
        while (hi - lo > 1) {
            std::size_t mid = (lo + hi) / 2;
            if (line_starts_[mid] <= offset)
                lo = mid;
            else
                hi = mid;
        }
        t.line = static_cast<int>(lo) + 1;
        t.col = static_cast<int>(offset - line_starts_[lo]) + 1;
        return t;
    }

    [[noreturn]] void error_at(std::size_t offset, const std::string& what) const {
        token t = make(token_kind::eof, "", offset);
        fail("line %d, column %d: %s", t.line, t.col, what.c_str());
    }

    std::size_t find_tag(std::size_t from) const {
        for (std::size_t i = from; i + 1 < src_.size(); ++i)
            if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#'))
                return i;
        return std::string::npos;
    }

    void emit_text(std::size_t offset, std::string text) {
        if (!text.empty()) out_.push_back(make(token_kind::text, std::move(text), offset));
    }

    // `{%-` strips all whitespace before the tag; otherwise lstrip_blocks removes the
    // whitespace between the line start and a block or comment tag.
    void apply_left_strip(std::string& text, char sign, bool is_block_or_comment,
                          bool line_starting) const {
        if (sign == '-') {
            std::size_t end = text.size();
            while (end > 0 && is_ws(text[end - 1])) --end;
            text.resize(end);
        } else if (sign != '+' && opt_.lstrip_blocks && is_block_or_comment) {
            std::size_t nl = text.rfind('\n');
            std::size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
            if ((l_pos > 0 || line_starting) && l_pos < text.size()) {
                bool all_space = true;
                for (std::size_t i = l_pos; i < text.size(); ++i)
                    if (!is_ws(text[i])) all_space = false;
                if (all_space) text.resize(l_pos);
            }
        }
    }

    // After `%}` or `#}`: `-` eats all whitespace, trim_blocks eats one newline.
    std::size_t after_block_end(std::size_t end_pos, char sign) const {
        std::size_t p = end_pos;
        if (sign == '-') {
            while (p < src_.size() && is_ws(src_[p])) ++p;
        } else if (sign != '+' && opt_.trim_blocks && p < src_.size() && src_[p] == '\n') {
            ++p;
        }
        return p;
    }

    std::size_t lex_comment(std::size_t tag, std::size_t p) {
        std::size_t e = src_.find("#}", p);
        if (e == std::string::npos) error_at(tag, "unterminated comment: missing '#}'");
        char sign = e > p && (src_[e - 1] == '-' || src_[e - 1] == '+') ? src_[e - 1] : 0;
        return after_block_end(e + 2, sign);
    }

    bool is_raw_begin(std::size_t p) const {
        while (p < src_.size() && is_ws(src_[p])) ++p;
        if (src_.compare(p, 3, "raw") != 0) return false;
        p += 3;
        while (p < src_.size() && is_ws(src_[p])) ++p;
        return src_.compare(p, 2, "%}") == 0 || src_.compare(p, 3, "-%}") == 0;
    }

    std::size_t lex_raw(std::size_t tag, std::size_t p) {
        std::size_t q = src_.find("%}", p);
        std::size_t body = q + 2;
        if (src_[q - 1] == '-')
            while (body < src_.size() && is_ws(src_[body])) ++body;
        for (std::size_t s = src_.find("{%", body); s != std::string::npos;
             s = src_.find("{%", s + 2)) {
            std::size_t r = s + 2;
            char sign = r < src_.size() && (src_[r] == '-' || src_[r] == '+') ? src_[r] : 0;
            if (sign) ++r;
            while (r < src_.size() && is_ws(src_[r])) ++r;
            if (src_.compare(r, 6, "endraw") != 0) continue;
            r += 6;
            while (r < src_.size() && is_ws(src_[r])) ++r;
            char end_sign = 0;
            if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) end_sign = src_[r++];
            if (src_.compare(r, 2, "%}") != 0) continue;
            std::string text = src_.substr(body, s - body);
            apply_left_strip(text, sign, true, false);
            emit_text(body, std::move(text));
            return after_block_end(r + 2, end_sign);
        }
        error_at(tag, "unterminated raw block: missing '{% endraw %}'");
    }

    std::size_t lex_tag(std::size_t tag, std::size_t p, bool block) {
        out_.push_back(make(block ? token_kind::block_begin : token_kind::var_begin,
                            block ? "{%" : "{{", tag));
        std::vector<char> brackets;
        const std::size_t n = src_.size();
        while (true) {
            while (p < n && is_ws(src_[p])) ++p;
            if (p >= n)
                error_at(tag, block ? "unexpected end of template: tag '{%' is never closed by '%}'"
                                    : "unexpected end of template: '{{' is never closed by '}}'");
            if (brackets.empty()) {
                const char* end = block ? "%}" : "}}";
                char sign = 0;
                std::size_t q = p;
                if (src_[q] == '-' || (block && src_[q] == '+')) sign = src_[q++];
                if (src_.compare(q, 2, end) == 0) {
                    out_.push_back(
                        make(block ? token_kind::block_end : token_kind::var_end, end, p));
                    if (!block) {
                        std::size_t r = q + 2;
                        if (sign == '-')
                            while (r < n && is_ws(src_[r])) ++r;
                        return r;
                    }
                    return after_block_end(q + 2, sign);
                }
            }
            p = lex_one(p, brackets);
        }
    }

    std::size_t lex_one(std::size_t p, std::vector<char>& brackets) {
        const std::size_t n = src_.size();
        char c = src_[p];
        if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(p);
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            std::size_t q = p;
            while (q < n && (std::isalnum(static_cast<unsigned char>(src_[q])) || src_[q] == '_'))
                ++q;
            out_.push_back(make(token_kind::name, src_.substr(p, q - p), p));
            return q;
        }
        if (c == '\'' || c == '"') return lex_string(p);
        static const char* const two[] = {"//", "**", "==", "!=", ">=", "<="};
        for (const char* op : two)
            if (src_.compare(p, 2, op) == 0) {
                out_.push_back(make(token_kind::op, op, p));
                return p + 2;
            }
        if (std::strchr("+-*/%~[](){}><=.:|,;", c) && c != '\0') {
            if (c == '(' || c == '[' || c == '{') {
                brackets.push_back(c);
            } else if (c == ')' || c == ']' || c == '}') {
                char open = c == ')' ? '(' : c == ']' ? '[' : '{';
                if (brackets.empty() || brackets.back() != open)
                    error_at(p, std::string("unexpected '") + c + "'");
                brackets.pop_back();
            }
            out_.push_back(make(token_kind::op, std::string(1, c), p));
            return p + 1;
        }
        error_at(p, std::string("unexpected character '") + c + "' inside a tag");
    }

    std::size_t lex_number(std::size_t p) {
        const std::size_t n = src_.size();
        auto digits = [&](std::size_t q, auto pred) {
            while (q < n && (pred(src_[q]) || (src_[q] == '_' && q + 1 < n && pred(src_[q + 1]))))
                ++q;
            return q;
        };
        auto dec = [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; };
        if (src_[p] == '0' && p + 2 < n && std::strchr("xXoObB", src_[p + 1])) {
            char base = static_cast<char>(std::tolower(static_cast<unsigned char>(src_[p + 1])));
            auto pred = [base](char ch) {
                if (base == 'x') return std::isxdigit(static_cast<unsigned char>(ch)) != 0;
                if (base == 'o') return ch >= '0' && ch <= '7';
                return ch == '0' || ch == '1';
            };
            std::size_t q = digits(p + 2, pred);
            if (q > p + 2) {
                std::string text;
                for (std::size_t i = p + 2; i < q; ++i)
                    if (src_[i] != '_') text += src_[i];
                long long v = 0;
                const int radix = base == 'x' ? 16 : base == 'o' ? 8 : 2;
                const auto [end, ec] =
                    std::from_chars(text.data(), text.data() + text.size(), v, radix);
                if (ec != std::errc() || end != text.data() + text.size())
                    error_at(p, "integer literal 0" + std::string(1, base) + text +
                                    " does not fit in 64 bits");
                out_.push_back(make(token_kind::integer, std::to_string(v), p));
                return q;
            }
        }
        std::size_t q = digits(p, dec);
        bool is_float = false;
        bool after_dot = p > 0 && src_[p - 1] == '.';  // `foo.0.1` is two subscripts
        if (!after_dot && q + 1 < n && src_[q] == '.' && dec(src_[q + 1])) {
            q = digits(q + 1, dec);
            is_float = true;
        }
        if (!after_dot && q < n && (src_[q] == 'e' || src_[q] == 'E')) {
            std::size_t r = q + 1;
            if (r < n && (src_[r] == '+' || src_[r] == '-')) ++r;
            if (r < n && dec(src_[r])) {
                q = digits(r, dec);
                is_float = true;
            }
        }
        std::string text;
        for (std::size_t i = p; i < q; ++i)
            if (src_[i] != '_') text += src_[i];
        out_.push_back(make(is_float ? token_kind::floating : token_kind::integer, text, p));
        return q;
    }

    std::size_t lex_string(std::size_t p) {
        const std::size_t n = src_.size();
        char quote = src_[p];
        std::size_t q = p + 1;
        while (q < n && src_[q] != quote) q += src_[q] == '\\' ? 2 : 1;
        if (q >= n) error_at(p, "unterminated string literal");
        out_.push_back(make(token_kind::string, unescape(src_.substr(p + 1, q - p - 1), p), p));
        return q + 1;
    }

    // Python's unicode-escape decoding, which Jinja applies to string literals.
    std::string unescape(const std::string& s, std::size_t offset) const {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] != '\\' || i + 1 >= s.size()) {
                out += s[i];
                continue;
            }
            char e = s[++i];
            auto hex = [&](std::size_t count) {
                if (i + count >= s.size()) error_at(offset, "truncated \\x/\\u escape in string");
                std::string h = s.substr(i + 1, count);
                for (char ch : h)
                    if (!std::isxdigit(static_cast<unsigned char>(ch)))
                        error_at(offset, "truncated \\x/\\u escape in string");
                i += count;
                utf8_append(out, static_cast<char32_t>(std::stoul(h, nullptr, 16)));
            };
            switch (e) {
                case '\n': break;
                case '\\': out += '\\'; break;
                case '\'': out += '\''; break;
                case '"': out += '"'; break;
                case 'a': out += '\a'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'v': out += '\v'; break;
                case 'x': hex(2); break;
                case 'u': hex(4); break;
                case 'U': hex(8); break;
                default:
                    if (e >= '0' && e <= '7') {
                        unsigned v = static_cast<unsigned>(e - '0');
                        for (int k = 0;
                             k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k)
                            v = v * 8 + static_cast<unsigned>(s[++i] - '0');
                        utf8_append(out, static_cast<char32_t>(v));
                    } else {
                        out += '\\';  // Python keeps unknown escapes as written
                        out += e;
                    }
            }
        }
        return out;
    }

    lexer_options opt_;
    std::string src_;
    std::vector<std::size_t> line_starts_;
    std::vector<token> out_;
};

}  // namespace

std::vector<token> tokenize(const std::string& source, const lexer_options& options) {
    return lexer(source, options).run();
}

std::string describe(const token& t) {
    switch (t.kind) {
        case token_kind::text: return "template text";
        case token_kind::var_begin: return "'{{'";
        case token_kind::var_end: return "end of print statement '}}'";
        case token_kind::block_begin: return "'{%'";
        case token_kind::block_end: return "end of statement block '%}'";
        case token_kind::name: return "'" + t.value + "'";
        case token_kind::string: return "string literal";
        case token_kind::integer:
        case token_kind::floating: return "number " + t.value;
        case token_kind::op: return "'" + t.value + "'";
        case token_kind::eof: return "end of template";
    }
    return "token";
}

}  // namespace actorlm::jinja

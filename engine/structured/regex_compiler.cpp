// regex_compiler: recursive descent over the pattern, emitting grammar rules directly
// (alternation -> alternatives, quantifiers -> grammar::repeat, classes -> UTF-8 byte
// sets). Shorthand classes are ASCII (\d = [0-9]): a subset of Python's Unicode classes,
// so whatever the grammar produces also matches under Python's `re`.
#include "structured/regex_compiler.hpp"

#include "structured/parse_cursor.hpp"

namespace actorlm::structured {

namespace {

code_point_set ascii_class(char c) {
    code_point_set s;
    switch (c) {
        case 'd': s.add('0', '9'); break;
        case 'w':
            s.add('a', 'z');
            s.add('A', 'Z');
            s.add('0', '9');
            s.add('_');
            break;
        case 's':
            s.add(' ');
            s.add('\t', '\r');  // \t \n \v \f \r
            break;
        default: break;
    }
    return s;
}

// The ASCII characters outside a shorthand class: Python's \D, \W, \S also exclude the
// Unicode digits, word and space characters, so staying in ASCII keeps outputs valid.
code_point_set ascii_complement(const code_point_set& s) {
    code_point_set out = s.complement();
    code_point_set limited;
    for (auto [lo, hi] : out.ranges)
        if (lo <= 0x7F) limited.add(lo, std::min<uint32_t>(hi, 0x7F));
    return limited;
}

class regex_parser {
public:
    regex_parser(grammar& g, std::string_view pattern, const regex_options& options)
        : cur_(pattern), g_(g), options_(options) {}

    result<int32_t> run(std::string_view hint) {
        cur_.consume('^');
        std::vector<sequence> alternatives = parse_alternation();
        if (!cur_.failed() && !cur_.at_end()) cur_.fail("unbalanced ')'");
        if (cur_.failed())
            return make_error(error_kind::invalid_argument, "regex: %s",
                              cur_.error_message().c_str());
        const int32_t rule = g_.new_rule(hint);
        g_.define(rule, std::move(alternatives));
        return rule;
    }

private:
    std::vector<sequence> parse_alternation() {
        std::vector<sequence> alternatives;
        alternatives.push_back(parse_concat());
        while (!cur_.failed() && cur_.consume('|')) alternatives.push_back(parse_concat());
        return alternatives;
    }

    sequence parse_concat() {
        sequence seq;
        while (!cur_.failed() && !cur_.at_end()) {
            const char c = cur_.peek();
            if (c == '|' || c == ')') break;
            if (c == '$') {
                cur_.next();
                if (!cur_.at_end()) cur_.fail("'$' is only supported at the end of the pattern");
                continue;
            }
            sequence atom = parse_atom();
            if (cur_.failed()) break;
            parse_quantifiers(atom);
            seq.insert(seq.end(), atom.begin(), atom.end());
        }
        return seq;
    }

    sequence parse_atom() {
        const char c = cur_.peek();
        switch (c) {
            case '(': return parse_group();
            case '[': return emit(parse_class());
            case '.': {
                cur_.next();
                code_point_set s;
                s.add('\n');
                return emit(s.complement());
            }
            case '\\': {
                cur_.next();
                code_point_set s;
                if (!parse_escape(s, false)) return {};
                return emit(s);
            }
            case '^': cur_.fail("'^' is only supported at the start of the pattern"); return {};
            case '*':
            case '+':
            case '?': cur_.fail(std::string("nothing to repeat before '") + c + "'"); return {};
            case '{':
                if (quantifier_ahead()) {
                    cur_.fail("nothing to repeat before '{'");
                    return {};
                }
                break;
            default: break;
        }
        std::optional<uint32_t> cp = cur_.next_code_point();
        if (!cp) return {};
        code_point_set s;
        s.add(*cp);
        return emit(s);
    }

    sequence parse_group() {
        cur_.next();  // '('
        if (cur_.consume('?')) {
            if (cur_.consume(':')) {
            } else if (cur_.consume("P<") || (cur_.peek() == '<' && cur_.peek(1) != '=' &&
                                               cur_.peek(1) != '!' && cur_.consume('<'))) {
                while (!cur_.at_end() && cur_.peek() != '>') cur_.next();
                if (!cur_.consume('>')) cur_.fail("unterminated group name");
            } else if (cur_.peek() == '=' || cur_.peek() == '!' || cur_.peek() == '<') {
                cur_.fail("lookaround assertions are not supported");
                return {};
            } else {
                cur_.fail("inline flags and other (?...) groups are not supported");
                return {};
            }
        }
        if (++depth_ > k_max_parse_depth) {
            cur_.fail("groups nested too deeply");
            return {};
        }
        std::vector<sequence> alternatives = parse_alternation();
        --depth_;
        if (!cur_.failed() && !cur_.consume(')')) cur_.fail("missing ')'");
        if (cur_.failed()) return {};
        return sequence{g_.group(std::move(alternatives), "regex_group")};
    }

    // After a backslash: a shorthand class or one escaped character, into `s`. `in_class`
    // allows \b (backspace) inside [...].
    bool parse_escape(code_point_set& s, bool in_class) {
        const char c = cur_.peek();
        if (c == 'd' || c == 'w' || c == 's') {
            cur_.next();
            used_shorthand_ = true;
            s.add_all(ascii_class(c));
            return true;
        }
        if (c == 'D' || c == 'W' || c == 'S') {
            cur_.next();
            s.add_all(ascii_complement(ascii_class(static_cast<char>(c - 'A' + 'a'))));
            used_shorthand_ = true;
            return true;
        }
        if (c == 'b' && in_class) {
            cur_.next();
            s.add('\b');
            return true;
        }
        if (c == 'b' || c == 'B') {
            cur_.fail("word boundaries (\\b, \\B) are not supported");
            return false;
        }
        if (c >= '1' && c <= '9') {
            cur_.fail("backreferences are not supported");
            return false;
        }
        if (c == 'A' || c == 'Z' || c == 'z' || c == 'G') {
            cur_.fail(std::string("anchor \\") + c + " is not supported");
            return false;
        }
        std::optional<uint32_t> v = cur_.escape_value();
        if (!v) return false;
        s.add(*v);
        return true;
    }

    code_point_set parse_class() {
        cur_.next();  // '['
        const bool negated = cur_.consume('^');
        used_shorthand_ = false;
        code_point_set set;
        bool first = true;
        while (!cur_.failed()) {
            if (cur_.at_end()) {
                cur_.fail("unterminated character class");
                break;
            }
            if (cur_.peek() == ']' && !first) {
                cur_.next();
                break;
            }
            first = false;
            code_point_set item;
            if (cur_.consume('\\')) {
                if (!parse_escape(item, true)) break;
            } else {
                std::optional<uint32_t> cp = cur_.next_code_point();
                if (!cp) break;
                item.add(*cp);
            }
            // A range needs single characters on both sides.
            if (item.ranges.size() == 1 && item.ranges[0].first == item.ranges[0].second &&
                cur_.peek() == '-' && cur_.peek(1) != ']' && !cur_.at_end()) {
                cur_.next();
                code_point_set hi_item;
                if (cur_.consume('\\')) {
                    if (!parse_escape(hi_item, true)) break;
                } else if (std::optional<uint32_t> cp = cur_.next_code_point()) {
                    hi_item.add(*cp);
                } else {
                    break;
                }
                if (hi_item.ranges.size() != 1 ||
                    hi_item.ranges[0].first != hi_item.ranges[0].second ||
                    hi_item.ranges[0].first < item.ranges[0].first) {
                    cur_.fail("bad character range");
                    break;
                }
                item.ranges[0].second = hi_item.ranges[0].first;
            }
            set.add_all(item);
        }
        if (!negated) return set;
        code_point_set out = set.complement();
        return used_shorthand_ ? ascii_complement(set) : out;
    }

    bool quantifier_ahead() const {
        // {m}, {m,}, {m,n}, {,n}: anything else is a literal '{' as in Python.
        size_t i = 1;
        bool digits = false, comma = false;
        for (;; ++i) {
            const char c = cur_.peek(i);
            if (c >= '0' && c <= '9') {
                digits = true;
            } else if (c == ',' && !comma) {
                comma = true;
            } else {
                return c == '}' && digits;
            }
        }
    }

    void parse_quantifiers(sequence& atom) {
        for (;;) {
            const char c = cur_.peek();
            int64_t min = 0, max = -1;
            if (cur_.at_end()) return;
            if (c == '*') {
                cur_.next();
            } else if (c == '+') {
                cur_.next();
                min = 1;
            } else if (c == '?') {
                cur_.next();
                max = 1;
            } else if (c == '{' && quantifier_ahead()) {
                cur_.next();
                parse_bounds(min, max);
            } else {
                return;
            }
            if (cur_.consume('?')) {
                // lazy: same language
            } else if (cur_.peek() == '+') {
                cur_.fail("possessive quantifiers are not supported");
                return;
            }
            result<sequence> r = g_.repeat(atom, min, max, "regex_repeat");
            if (!r.ok()) {
                cur_.fail(r.message());
                return;
            }
            atom = std::move(r.value());
        }
    }

    void parse_bounds(int64_t& min, int64_t& max) {
        auto number = [&](int64_t& out) {
            bool any = false;
            out = 0;
            while (cur_.peek() >= '0' && cur_.peek() <= '9') {
                out = std::min<int64_t>(out * 10 + (cur_.next() - '0'), 1'000'000);
                any = true;
            }
            return any;
        };
        if (!number(min)) min = 0;
        max = min;
        if (cur_.consume(',')) {
            if (!number(max)) max = -1;
        }
        cur_.consume('}');
    }

    // The characters of `s` as grammar: raw UTF-8, or JSON-escaped inside a JSON string.
    sequence emit(const code_point_set& s) {
        if (!options_.json_string) return sequence{g_.code_points(s, "regex_class")};
        code_point_set special;
        special.add(0, 0x1F);
        special.add('"');
        special.add('\\');
        code_point_set plain;
        code_point_set sorted = s;
        sorted.normalize();
        const code_point_set allowed = special.complement();
        for (auto [lo, hi] : sorted.ranges)
            for (auto [alo, ahi] : allowed.ranges) {
                const uint32_t a = std::max(lo, alo), b = std::min(hi, ahi);
                if (a <= b) plain.add(a, b);
            }
        std::vector<sequence> alternatives;
        if (!plain.empty()) alternatives.push_back(sequence{g_.code_points(plain, "json_char")});
        for (uint32_t c = 0; c < 0x20; ++c)
            if (sorted.contains(c)) alternatives.push_back(g_.literal(json_escape(c)));
        if (sorted.contains('"')) alternatives.push_back(g_.literal("\\\""));
        if (sorted.contains('\\')) alternatives.push_back(g_.literal("\\\\"));
        return sequence{g_.group(std::move(alternatives), "json_char")};
    }

    static std::string json_escape(uint32_t c) {
        switch (c) {
            case '\n': return "\\n";
            case '\t': return "\\t";
            case '\r': return "\\r";
            case '\b': return "\\b";
            case '\f': return "\\f";
            default: {
                static const char* hex = "0123456789abcdef";
                return std::string("\\u00") + hex[c >> 4] + hex[c & 15];
            }
        }
    }

    parse_cursor cur_;
    grammar& g_;
    regex_options options_;
    int depth_ = 0;
    bool used_shorthand_ = false;  // a shorthand class was used in the current [...]
};

}  // namespace

result<int32_t> add_regex_rule(grammar& g, std::string_view pattern, const regex_options& options,
                               std::string_view hint) {
    return regex_parser(g, pattern, options).run(hint);
}

result<grammar> regex_to_grammar(std::string_view pattern) {
    grammar g;
    result<int32_t> rule = add_regex_rule(g, pattern, {}, "regex");
    if (!rule.ok()) return rule.err();
    g.set_root(*rule);
    status checked = g.validate();
    if (!checked.ok())
        return make_error(error_kind::invalid_argument, "regex: %s", checked.err().message.c_str());
    return g;
}

}  // namespace actorlm::structured

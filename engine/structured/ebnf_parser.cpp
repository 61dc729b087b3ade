// ebnf_parser: recursive descent over GBNF text. A sequence ends at `|`, `)`, the end,
// or the start of the next rule (`name ::=`), so rules may span lines as in llama.cpp.
#include "structured/ebnf_parser.hpp"

#include "structured/parse_cursor.hpp"
#include "tokenizer/utf8.hpp"

namespace actorlm::structured {

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

class ebnf_parser {
public:
    explicit ebnf_parser(std::string_view text) : cur_(text) {}

    result<grammar> run() {
        skip_space();
        while (!cur_.at_end() && !cur_.failed()) {
            const std::string name = parse_name();
            if (cur_.failed()) break;
            skip_space();
            if (!cur_.consume("::=")) {
                cur_.fail("expected '::=' after rule name '" + name + "'");
                break;
            }
            const int32_t rule = g_.declare_rule(name);
            if (g_.rules()[static_cast<size_t>(rule)].defined) {
                cur_.fail("rule '" + name + "' is defined twice");
                break;
            }
            std::vector<sequence> alternatives = parse_alternatives();
            g_.define(rule, std::move(alternatives));
            skip_space();
        }
        if (cur_.failed())
            return make_error(error_kind::invalid_argument, "grammar: %s",
                              cur_.error_message().c_str());
        const int32_t root = g_.find_rule("root");
        if (root < 0 || !g_.rules()[static_cast<size_t>(root)].defined)
            return make_error(error_kind::invalid_argument, "grammar: no rule named 'root'");
        g_.set_root(root);
        status checked = g_.validate();
        if (!checked.ok())
            return make_error(error_kind::invalid_argument, "grammar: %s",
                              checked.err().message.c_str());
        return std::move(g_);
    }

private:
    void skip_space() {
        for (;;) {
            const char c = cur_.peek();
            if (cur_.at_end()) return;
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                cur_.next();
            } else if (c == '#') {
                while (!cur_.at_end() && cur_.peek() != '\n') cur_.next();
            } else {
                return;
            }
        }
    }

    std::string parse_name() {
        std::string name;
        while (!cur_.at_end() && is_name_char(cur_.peek())) name += cur_.next();
        if (name.empty()) cur_.fail("expected a rule name");
        return name;
    }

    // True when the text ahead is `name ::=`, the start of the next rule.
    bool at_rule_start() {
        const size_t saved = cur_.pos();
        size_t n = 0;
        while (is_name_char(cur_.peek(n))) ++n;
        bool result = false;
        if (n > 0) {
            cur_.set_pos(saved + n);
            while (cur_.peek() == ' ' || cur_.peek() == '\t') cur_.next();
            result = cur_.rest().substr(0, 3) == "::=";
        }
        cur_.set_pos(saved);
        return result;
    }

    std::vector<sequence> parse_alternatives() {
        std::vector<sequence> alternatives;
        alternatives.push_back(parse_sequence());
        while (!cur_.failed()) {
            skip_space();
            if (!cur_.consume('|')) break;
            alternatives.push_back(parse_sequence());
        }
        return alternatives;
    }

    sequence parse_sequence() {
        sequence seq;
        while (!cur_.failed()) {
            skip_space();
            const char c = cur_.peek();
            if (cur_.at_end() || c == '|' || c == ')' || at_rule_start()) break;
            sequence atom = parse_atom();
            if (cur_.failed()) break;
            parse_postfix(atom);
            seq.insert(seq.end(), atom.begin(), atom.end());
        }
        return seq;
    }

    sequence parse_atom() {
        const char c = cur_.peek();
        if (c == '"' || c == '\'') return parse_literal();
        if (c == '[') return sequence{parse_class()};
        if (c == '.') {
            cur_.next();
            code_point_set any;
            any.add(0, k_max_code_point);
            return sequence{g_.code_points(any, "any")};
        }
        if (c == '(') {
            cur_.next();
            if (++depth_ > k_max_parse_depth) {
                cur_.fail("groups nested too deeply");
                return {};
            }
            std::vector<sequence> alternatives = parse_alternatives();
            --depth_;
            skip_space();
            if (!cur_.consume(')')) {
                cur_.fail("expected ')'");
                return {};
            }
            return sequence{g_.group(std::move(alternatives), "group")};
        }
        if (is_name_char(c)) return sequence{grammar::ref(g_.declare_rule(parse_name()))};
        cur_.fail(std::string("unexpected character '") + c + "'");
        return {};
    }

    sequence parse_literal() {
        const char quote = cur_.next();
        std::string bytes;
        while (!cur_.failed()) {
            if (cur_.at_end()) {
                cur_.fail("unterminated string literal");
                break;
            }
            if (cur_.consume(quote)) break;
            std::optional<uint32_t> cp =
                cur_.consume('\\') ? cur_.escape_value() : cur_.next_code_point();
            if (cp) tok::append_utf8(bytes, *cp);
        }
        return g_.literal(bytes);
    }

    grammar_element parse_class() {
        cur_.next();  // '['
        const bool negated = cur_.consume('^');
        code_point_set set;
        while (!cur_.failed()) {
            if (cur_.at_end()) {
                cur_.fail("unterminated character class");
                break;
            }
            if (cur_.consume(']')) break;
            std::optional<uint32_t> lo = class_char();
            if (!lo) break;
            uint32_t hi = *lo;
            if (cur_.peek() == '-' && cur_.peek(1) != ']') {
                cur_.next();
                std::optional<uint32_t> h = class_char();
                if (!h) break;
                hi = *h;
                if (hi < *lo) {
                    cur_.fail("character range is reversed");
                    break;
                }
            }
            set.add(*lo, hi);
        }
        return g_.code_points(negated ? set.complement() : set, "class");
    }

    std::optional<uint32_t> class_char() {
        return cur_.consume('\\') ? cur_.escape_value() : cur_.next_code_point();
    }

    void parse_postfix(sequence& atom) {
        for (;;) {
            const char c = cur_.peek();
            int64_t min = 0, max = -1;
            if (c == '*') {
                cur_.next();
            } else if (c == '+') {
                cur_.next();
                min = 1;
            } else if (c == '?') {
                cur_.next();
                max = 1;
            } else if (c == '{') {
                cur_.next();
                if (!parse_bounds(min, max)) return;
            } else {
                return;
            }
            result<sequence> r = g_.repeat(atom, min, max, "repeat");
            if (!r.ok()) {
                cur_.fail(r.message());
                return;
            }
            atom = std::move(r.value());
        }
    }

    bool parse_bounds(int64_t& min, int64_t& max) {
        auto number = [&](int64_t& out) {
            bool any = false;
            out = 0;
            while (cur_.peek() >= '0' && cur_.peek() <= '9' && !cur_.at_end()) {
                out = out * 10 + (cur_.next() - '0');
                if (out > 1'000'000) out = 1'000'000;
                any = true;
            }
            return any;
        };
        skip_space();
        if (!number(min)) {
            cur_.fail("expected a number in {m,n}");
            return false;
        }
        skip_space();
        max = min;
        if (cur_.consume(',')) {
            skip_space();
            if (!number(max)) max = -1;
            skip_space();
        }
        if (!cur_.consume('}')) {
            cur_.fail("expected '}'");
            return false;
        }
        return true;
    }

    parse_cursor cur_;
    grammar g_;
    int depth_ = 0;
};

}  // namespace

result<grammar> parse_ebnf(std::string_view text) { return ebnf_parser(text).run(); }

}  // namespace actorlm::structured

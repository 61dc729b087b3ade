// json_grammar: the JSON value rules (RFC 8259), added to a grammar on first use.
#include "structured/json_grammar.hpp"

namespace actorlm::structured {

namespace {

byte_set digits(char lo = '0') { return byte_set::range(static_cast<uint8_t>(lo), '9'); }

}  // namespace

int32_t json_rules::cached(int32_t& slot, const char* name) {
    if (slot < 0) slot = g_.new_rule(name);
    return slot;
}

int32_t json_rules::space() {
    if (space_ >= 0) return space_;
    cached(space_, "json_space");
    g_.define(space_, {g_.literal(" "), sequence{}});
    return space_;
}

int32_t json_rules::string_char() {
    if (char_ >= 0) return char_;
    cached(char_, "json_char");
    const grammar_element hex = g_.bytes([] {
        byte_set s = byte_set::range('0', '9');
        s.add_range('a', 'f');
        s.add_range('A', 'F');
        return s;
    }());
    sequence unicode = g_.literal("\\u");
    unicode.insert(unicode.end(), {hex, hex, hex, hex});
    std::vector<sequence> alternatives = g_.rules()[static_cast<size_t>(
        string_char_no_unicode_escape())].alternatives;
    alternatives.push_back(std::move(unicode));
    g_.define(char_, std::move(alternatives));
    return char_;
}

int32_t json_rules::string_char_no_unicode_escape() {
    if (plain_char_ >= 0) return plain_char_;
    cached(plain_char_, "json_plain_char");
    code_point_set excluded;
    excluded.add(0, 0x1F);
    excluded.add('"');
    excluded.add('\\');
    const grammar_element plain = g_.code_points(excluded.complement(), "json_utf8");
    byte_set escaped;
    for (char c : std::string_view("\"\\/bfnrt")) escaped.add(static_cast<uint8_t>(c));
    sequence escape = g_.literal("\\");
    escape.push_back(g_.bytes(escaped));
    g_.define(plain_char_, {sequence{plain}, std::move(escape)});
    return plain_char_;
}

int32_t json_rules::string() {
    if (string_ >= 0) return string_;
    cached(string_, "json_string");
    result<sequence> body = g_.repeat({grammar::ref(string_char())}, 0, -1, "json_chars");
    sequence s = g_.literal("\"");
    s.insert(s.end(), body->begin(), body->end());
    s.push_back(g_.literal("\"")[0]);
    g_.define(string_, {std::move(s)});
    return string_;
}

int32_t json_rules::integer() {
    if (integer_ >= 0) return integer_;
    cached(integer_, "json_integer");
    result<sequence> more = g_.repeat({g_.bytes(digits())}, 0, -1, "json_digits");
    sequence nonzero{g_.bytes(digits('1'))};
    nonzero.insert(nonzero.end(), more->begin(), more->end());
    const grammar_element magnitude = g_.group({g_.literal("0"), std::move(nonzero)}, "json_uint");
    g_.define(integer_, {sequence{g_.literal("-")[0], magnitude}, sequence{magnitude}});
    return integer_;
}

int32_t json_rules::number() {
    if (number_ >= 0) return number_;
    cached(number_, "json_number");
    result<sequence> frac_digits = g_.repeat({g_.bytes(digits())}, 1, -1, "json_frac_digits");
    sequence frac = g_.literal(".");
    frac.insert(frac.end(), frac_digits->begin(), frac_digits->end());
    const grammar_element opt_frac = g_.group({std::move(frac), sequence{}}, "json_frac");
    byte_set e;
    e.add('e');
    e.add('E');
    byte_set sign;
    sign.add('+');
    sign.add('-');
    sequence exp{g_.bytes(e), g_.group({sequence{g_.bytes(sign)}, sequence{}}, "json_exp_sign")};
    exp.insert(exp.end(), frac_digits->begin(), frac_digits->end());
    const grammar_element opt_exp = g_.group({std::move(exp), sequence{}}, "json_exp");
    g_.define(number_, {sequence{grammar::ref(integer()), opt_frac, opt_exp}});
    return number_;
}

result<std::vector<sequence>> json_rules::list_of(std::string_view open_text,
                                                  grammar_element item,
                                                  std::string_view close_text, int64_t min_items,
                                                  int64_t max_items, std::string_view rest_hint) {
    sequence open = g_.literal(open_text);
    open.push_back(grammar::ref(space()));
    const sequence close = g_.literal(close_text);
    sequence empty = open;
    empty.insert(empty.end(), close.begin(), close.end());
    if (max_items == 0) return std::vector<sequence>{std::move(empty)};
    sequence next = g_.literal(",");
    next.push_back(grammar::ref(space()));
    next.push_back(item);
    result<sequence> rest = g_.repeat(next, min_items > 0 ? min_items - 1 : 0,
                                      max_items < 0 ? -1 : max_items - 1, rest_hint);
    if (!rest.ok()) return rest.err();
    sequence full = std::move(open);
    full.push_back(item);
    full.insert(full.end(), rest->begin(), rest->end());
    full.insert(full.end(), close.begin(), close.end());
    std::vector<sequence> alternatives{std::move(full)};
    if (min_items == 0) alternatives.push_back(std::move(empty));
    return alternatives;
}

int32_t json_rules::array() {
    if (array_ >= 0) return array_;
    cached(array_, "json_array");
    // Unbounded, so the repetition cannot fail.
    g_.define(array_, list_of("[", grammar::ref(value()), "]", 0, -1, "json_array_rest").value());
    return array_;
}

int32_t json_rules::object() {
    if (object_ >= 0) return object_;
    cached(object_, "json_object");
    const int32_t member = g_.new_rule("json_member");
    g_.define(member, {sequence{grammar::ref(string()), g_.literal(":")[0], grammar::ref(space()),
                                grammar::ref(value())}});
    g_.define(object_,
              list_of("{", grammar::ref(member), "}", 0, -1, "json_object_rest").value());
    return object_;
}

int32_t json_rules::value() {
    if (value_ >= 0) return value_;
    cached(value_, "json_value");
    g_.define(value_, {sequence{grammar::ref(object())}, sequence{grammar::ref(array())},
                       sequence{grammar::ref(string())}, sequence{grammar::ref(number())},
                       g_.literal("true"), g_.literal("false"), g_.literal("null")});
    return value_;
}

sequence json_rules::key(std::string_view name) {
    std::string text = "\"";
    text += json_escape_string(name);
    text += "\":";
    sequence s = g_.literal(text);
    s.push_back(grammar::ref(space()));
    return s;
}

std::string json_escape_string(std::string_view text) {
    std::string out;
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    static const char* hex = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else {
                    out += ch;
                }
        }
    }
    return out;
}

}  // namespace actorlm::structured

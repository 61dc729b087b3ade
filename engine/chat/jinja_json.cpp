// json.dumps-compatible serialization and simdjson-based parsing of Jinja values.
// Stateless; the simdjson parser is local to each call, so any thread may call.
#include "chat/jinja_json.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "base/json_string.hpp"

namespace actorlm::jinja {

namespace {

void append_json_string(std::string& out, const std::string& s, bool ensure_ascii) {
    out += '"';
    for (char32_t c : utf8_decode(s)) {
        if (append_json_escape(out, c)) continue;
        if (ensure_ascii && c > 0x7e) {
            char buf[16];
            if (c >= 0x10000) {  // a surrogate pair, as Python writes it
                const char32_t v = c - 0x10000;
                std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x",
                              static_cast<unsigned>(0xD800 + (v >> 10)),
                              static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
            } else {
                std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
            }
            out += buf;
        } else {
            utf8_append(out, c);
        }
    }
    out += '"';
}

std::string json_float(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
    return format_float(d);
}

std::string json_key(const value& k) {
    if (k.is_string()) return k.str();
    if (k.is_bool()) return k.as_bool() ? "true" : "false";
    if (k.is_int()) return std::to_string(k.as_int());
    if (k.is_float()) return json_float(k.as_double());
    if (k.is_none()) return "null";
    fail("keys must be str, int, float, bool or None, not %s", type_name(k));
}

void dump(std::string& out, const value& v, const json_options& o, int level) {
    auto newline = [&](int lvl) {
        out += '\n';
        for (int i = 0; i < lvl; ++i) out += *o.indent;
    };
    switch (v.data().index()) {
        case 1: out += "null"; return;
        case 2: out += v.as_bool() ? "true" : "false"; return;
        case 3: out += std::to_string(v.as_int()); return;
        case 4: out += json_float(v.as_double()); return;
        case 5: append_json_string(out, v.str(), o.ensure_ascii); return;
        case 6: {
            const auto& items = v.as_list().items;
            if (items.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (i) out += o.item_separator;
                if (o.indent) newline(level + 1);
                dump(out, items[i], o, level + 1);
            }
            if (o.indent) newline(level);
            out += ']';
            return;
        }
        case 7: {
            const auto& d = v.as_dict();
            if (d.items.empty()) {
                out += "{}";
                return;
            }
            std::vector<const std::pair<value, value>*> entries;
            for (const auto& kv : d.items) entries.push_back(&kv);
            if (o.sort_keys)
                std::stable_sort(entries.begin(), entries.end(),
                                 [](auto* a, auto* b) { return less_than(a->first, b->first); });
            out += '{';
            bool first = true;
            for (const auto* kv : entries) {
                if (!first) out += o.item_separator;
                first = false;
                if (o.indent) newline(level + 1);
                append_json_string(out, json_key(kv->first), o.ensure_ascii);
                out += o.key_separator;
                dump(out, kv->second, o, level + 1);
            }
            if (o.indent) newline(level);
            out += '}';
            return;
        }
        default: fail("Object of type %s is not JSON serializable", type_name(v));
    }
}

result<value> convert(simdjson::dom::element e) {
    using simdjson::dom::element_type;
    switch (e.type()) {
        case element_type::ARRAY: {
            std::vector<value> items;
            simdjson::dom::array array = e.get_array().value_unsafe();
            for (auto child : array) {
                auto v = convert(child);
                if (!v.ok()) return v;
                items.push_back(std::move(v.value()));
            }
            return value::list(std::move(items));
        }
        case element_type::OBJECT: {
            dict_t d;
            simdjson::dom::object object = e.get_object().value_unsafe();
            for (auto field : object) {
                auto v = convert(field.value);
                if (!v.ok()) return v;
                // json.loads keeps the last of duplicate keys at the first one's position.
                d.set(value(std::string(field.key)), std::move(v.value()));
            }
            return value(std::move(d));
        }
        case element_type::INT64: return value(e.get_int64().value_unsafe());
        case element_type::UINT64: {
            // Beyond int64: kept as a float (Python would keep an exact int).
            return value(static_cast<double>(e.get_uint64().value_unsafe()));
        }
        case element_type::DOUBLE: return value(e.get_double().value_unsafe());
        case element_type::STRING: return value(std::string(e.get_string().value_unsafe()));
        case element_type::BOOL: return value(e.get_bool().value_unsafe());
        case element_type::NULL_VALUE: return value::none();
    }
    return make_error("unknown JSON element");
}

// simdjson rejects integers beyond 64 bits, which Python reads as ints (HF configs carry
// model_max_length = 1e30 as an integer). Such literals are re-read as floats.
std::string widen_big_integers(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < text.size())
                out += text[++i];
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        bool starts_number = (c == '-' || (c >= '0' && c <= '9')) &&
                             (i == 0 || !(std::isalnum(static_cast<unsigned char>(text[i - 1])) ||
                                          text[i - 1] == '.'));
        if (!starts_number) {
            out += c;
            continue;
        }
        std::size_t j = i + (c == '-' ? 1 : 0);
        while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
        bool integer = j == text.size() || (text[j] != '.' && text[j] != 'e' && text[j] != 'E');
        out.append(text.substr(i, j - i));
        if (integer && j - i >= 19) out += ".0";
        i = j - 1;
    }
    return out;
}

}  // namespace

std::string to_json(const value& v, const json_options& options) {
    std::string out;
    dump(out, v, options, 0);
    return out;
}

result<value> value_from_json(std::string_view json_text) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json_text);
    simdjson::dom::element root;
    auto err = parser.parse(padded).get(root);
    if (err == simdjson::NUMBER_ERROR) {  // this simdjson reports big integers so
        simdjson::padded_string widened(widen_big_integers(json_text));
        err = parser.parse(widened).get(root);
        if (!err) return convert(root);
    }
    if (err) return make_error("invalid JSON: %s", simdjson::error_message(err));
    return convert(root);
}

}  // namespace actorlm::jinja

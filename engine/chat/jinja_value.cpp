// Python semantics of Jinja values: truthiness, equality, ordering, str() and repr().
// Pure functions over immutable values; safe from any thread.
#include "chat/jinja_value.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace actorlm::jinja {

void fail(const char* fmt, ...) {
    char buf[2048];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    throw jinja_error(buf);
}

const value* dict_t::find(const value& key) const {
    for (const auto& [k, v] : items)
        if (equals(k, key)) return &v;
    return nullptr;
}

const value* dict_t::find(const std::string& key) const {
    for (const auto& [k, v] : items)
        if (k.is_string() && k.str() == key) return &v;
    return nullptr;
}

void dict_t::set(value key, value val) {
    for (auto& [k, v] : items)
        if (equals(k, key)) {
            v = std::move(val);
            return;
        }
    items.emplace_back(std::move(key), std::move(val));
}

value* namespace_t::find(const std::string& name) {
    for (auto& [k, v] : attrs)
        if (k == name) return &v;
    return nullptr;
}

namespace {

int depth_of(const value& v) {
    if (v.is_list()) return v.as_list().depth;
    if (v.is_dict()) return v.as_dict().depth;
    return 0;
}

void check_depth(int depth) {
    if (depth > k_max_depth) fail("values nested deeper than %d levels", k_max_depth);
}

}  // namespace

value::value(list_t l) {
    int d = 0;
    for (const auto& x : l.items) d = std::max(d, depth_of(x));
    l.depth = d + 1;
    check_depth(l.depth);
    data_ = std::make_shared<const list_t>(std::move(l));
}

value::value(dict_t dict) {
    int d = 0;
    for (const auto& [k, x] : dict.items) d = std::max({d, depth_of(k), depth_of(x)});
    dict.depth = d + 1;
    check_depth(dict.depth);
    data_ = std::make_shared<const dict_t>(std::move(dict));
}

value value::function(std::string name, std::function<value(renderer&, call_args&)> fn) {
    return value(std::make_shared<const callable_t>(callable_t{std::move(name), std::move(fn)}));
}

std::int64_t value::as_int() const {
    if (is_bool()) return as_bool() ? 1 : 0;
    return std::get<std::int64_t>(data_);
}

double value::as_double() const {
    if (is_float()) return std::get<double>(data_);
    return static_cast<double>(as_int());
}

void value::require_defined() const {
    if (is_undefined()) throw jinja_error(undefined_hint());
}

const char* type_name(const value& v) {
    switch (v.data().index()) {
        case 0: return "Undefined";
        case 1: return "NoneType";
        case 2: return "bool";
        case 3: return "int";
        case 4: return "float";
        case 5: return "str";
        case 6: return v.as_list().tuple ? "tuple" : "list";
        case 7: return "dict";
        case 8: return "Namespace";
        default: return "function";
    }
}

bool truthy(const value& v) {
    switch (v.data().index()) {
        case 0:
        case 1: return false;
        case 2: return v.as_bool();
        case 3: return v.as_int() != 0;
        case 4: return v.as_double() != 0.0;
        case 5: return !v.str().empty();
        case 6: return !v.as_list().items.empty();
        case 7: return !v.as_dict().items.empty();
        default: return true;
    }
}

std::string format_float(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    std::string out;
    std::size_t i = 0;
    if (sci[0] == '-') {
        out += '-';
        i = 1;
    }
    std::string digits;
    std::size_t e_pos = sci.find('e');
    for (std::size_t j = i; j < e_pos; ++j)
        if (sci[j] != '.') digits += sci[j];
    int exp10 = std::atoi(sci.c_str() + e_pos + 1);
    int decpt = exp10 + 1;  // value = 0.DIGITS * 10^decpt
    int ndigits = static_cast<int>(digits.size());
    if (decpt <= -4 || decpt > 16) {  // CPython's float_repr_style 'short' switch-over
        out += digits[0];
        if (ndigits > 1) {
            out += '.';
            out.append(digits, 1, std::string::npos);
        }
        char e[16];
        std::snprintf(e, sizeof(e), "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
        return out + e;
    }
    if (decpt <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-decpt), '0');
        out += digits;
    } else if (decpt >= ndigits) {
        out += digits;
        out.append(static_cast<std::size_t>(decpt - ndigits), '0');
        out += ".0";
    } else {
        out.append(digits, 0, static_cast<std::size_t>(decpt));
        out += '.';
        out.append(digits, static_cast<std::size_t>(decpt), std::string::npos);
    }
    return out;
}

static bool py_printable(char32_t c) {
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x7f) return true;
    auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    switch (cat) {
        case UTF8PROC_CATEGORY_CC:
        case UTF8PROC_CATEGORY_CF:
        case UTF8PROC_CATEGORY_CS:
        case UTF8PROC_CATEGORY_CO:
        case UTF8PROC_CATEGORY_CN:
        case UTF8PROC_CATEGORY_ZL:
        case UTF8PROC_CATEGORY_ZP:
        case UTF8PROC_CATEGORY_ZS: return false;
        default: return true;
    }
}

static std::string repr_string(const std::string& s) {
    bool has_single = s.find('\'') != std::string::npos;
    bool has_double = s.find('"') != std::string::npos;
    char quote = (has_single && !has_double) ? '"' : '\'';
    std::string out(1, quote);
    for (char32_t c : utf8_decode(s)) {
        if (c == static_cast<char32_t>(quote) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (py_printable(c)) {
            utf8_append(out, c);
        } else {
            char buf[16];
            if (c < 0x100)
                std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(c));
            else if (c < 0x10000)
                std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
            else
                std::snprintf(buf, sizeof(buf), "\\U%08x", static_cast<unsigned>(c));
            out += buf;
        }
    }
    out += quote;
    return out;
}

std::string to_repr(const value& v) {
    if (v.is_string()) return repr_string(v.str());
    // Only namespaces can nest without bound (one may hold itself); stop like Python's
    // RecursionError instead of overflowing the stack.
    thread_local int repr_depth = 0;
    struct guard {
        guard() {
            if (++repr_depth > 2 * k_max_depth) {
                repr_depth = 0;
                fail("maximum recursion depth exceeded while getting the repr of a value");
            }
        }
        ~guard() {
            if (repr_depth > 0) --repr_depth;
        }
    } g;
    if (v.is_undefined()) return "Undefined";
    if (v.is_list()) {
        const auto& l = v.as_list();
        std::string out = l.tuple ? "(" : "[";
        for (std::size_t i = 0; i < l.items.size(); ++i) {
            if (i) out += ", ";
            out += to_repr(l.items[i]);
        }
        if (l.tuple && l.items.size() == 1) out += ",";
        return out + (l.tuple ? ")" : "]");
    }
    if (v.is_dict()) {
        std::string out = "{";
        bool first = true;
        for (const auto& [k, val] : v.as_dict().items) {
            if (!first) out += ", ";
            first = false;
            out += to_repr(k) + ": " + to_repr(val);
        }
        return out + "}";
    }
    return to_str(v);
}

std::string to_str(const value& v) {
    switch (v.data().index()) {
        case 0: return "";
        case 1: return "None";
        case 2: return v.as_bool() ? "True" : "False";
        case 3: return std::to_string(v.as_int());
        case 4: return format_float(v.as_double());
        case 5: return v.str();
        case 6:
        case 7: return to_repr(v);
        case 8: {
            dict_t d;
            for (const auto& [k, val] : v.as_namespace().attrs) d.items.emplace_back(k, val);
            return "<Namespace " + to_repr(value(std::move(d))) + ">";
        }
        default: return "<function " + v.as_callable().name + ">";
    }
}

bool equals(const value& a, const value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
        return a.as_int() == b.as_int();
    }
    if (a.data().index() != b.data().index()) return false;
    switch (a.data().index()) {
        case 0:
        case 1: return true;
        case 5: return a.str() == b.str();
        case 6: {
            const auto& x = a.as_list();
            const auto& y = b.as_list();
            if (x.tuple != y.tuple || x.items.size() != y.items.size()) return false;
            for (std::size_t i = 0; i < x.items.size(); ++i)
                if (!equals(x.items[i], y.items[i])) return false;
            return true;
        }
        case 7: {
            const auto& x = a.as_dict();
            const auto& y = b.as_dict();
            if (x.items.size() != y.items.size()) return false;
            for (const auto& [k, v] : x.items) {
                const value* other = y.find(k);
                if (!other || !equals(v, *other)) return false;
            }
            return true;
        }
        case 8: return &a.as_namespace() == &b.as_namespace();
        case 9: return &a.as_callable() == &b.as_callable();
        default: return false;
    }
}

bool less_than(const value& a, const value& b) {
    a.require_defined();
    b.require_defined();
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
        return a.as_int() < b.as_int();
    }
    if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 order = code point order
    if (a.is_list() && b.is_list() && a.as_list().tuple == b.as_list().tuple) {
        const auto& x = a.as_list().items;
        const auto& y = b.as_list().items;
        for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (equals(x[i], y[i])) continue;
            return less_than(x[i], y[i]);
        }
        return x.size() < y.size();
    }
    fail("'<' not supported between instances of '%s' and '%s'", type_name(a), type_name(b));
}

value add(const value& a, const value& b) {
    a.require_defined();
    b.require_defined();
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return value(a.as_double() + b.as_double());
        return value(a.as_int() + b.as_int());
    }
    if (a.is_string() && b.is_string()) return value(a.str() + b.str());
    if (a.is_list() && b.is_list() && a.as_list().tuple == b.as_list().tuple) {
        std::vector<value> items = a.as_list().items;
        for (const auto& v : b.as_list().items) items.push_back(v);
        return value::list(std::move(items), a.as_list().tuple);
    }
    if (a.is_string()) fail("can only concatenate str (not \"%s\") to str", type_name(b));
    fail("unsupported operand type(s) for +: '%s' and '%s'", type_name(a), type_name(b));
}

bool contains(const value& container, const value& item) {
    if (container.is_string()) {
        if (!item.is_string())
            fail("'in <string>' requires string as left operand, not %s", type_name(item));
        return container.str().find(item.str()) != std::string::npos;
    }
    if (container.is_dict()) {
        if (item.is_dict() || (item.is_list() && !item.as_list().tuple))
            fail("unhashable type: '%s'", type_name(item));
        return container.as_dict().find(item) != nullptr;
    }
    if (container.is_list() || container.is_undefined()) {
        for (const auto& x : iterate(container))
            if (equals(x, item)) return true;
        return false;
    }
    fail("argument of type '%s' is not iterable", type_name(container));
}

std::int64_t length(const value& v) {
    if (v.is_string()) {
        std::int64_t n = 0;
        for (unsigned char c : v.str())
            if ((c & 0xC0) != 0x80) ++n;
        return n;
    }
    if (v.is_list()) return static_cast<std::int64_t>(v.as_list().items.size());
    if (v.is_dict()) return static_cast<std::int64_t>(v.as_dict().items.size());
    if (v.is_undefined()) return 0;
    fail("object of type '%s' has no len()", type_name(v));
}

std::vector<value> iterate(const value& v) {
    if (v.is_list()) return v.as_list().items;
    if (v.is_dict()) {
        std::vector<value> keys;
        for (const auto& kv : v.as_dict().items) keys.push_back(kv.first);
        return keys;
    }
    if (v.is_string()) {
        std::vector<value> chars;
        for (char32_t c : utf8_decode(v.str())) {
            std::string s;
            utf8_append(s, c);
            chars.emplace_back(std::move(s));
        }
        return chars;
    }
    if (v.is_undefined()) return {};
    fail("'%s' object is not iterable", type_name(v));
}

void utf8_append(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::u32string utf8_decode(const std::string& s) {
    std::u32string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        int extra = c < 0x80           ? 0
                    : (c >> 5) == 0x6  ? 1
                    : (c >> 4) == 0xE  ? 2
                    : (c >> 3) == 0x1E ? 3
                                       : -1;
        if (extra < 0 || (extra > 0 && i + static_cast<std::size_t>(extra) >= s.size())) {
            out += U'\uFFFD';  // invalid byte: keep going, as a replacement character
            ++i;
            continue;
        }
        char32_t cp = extra == 0   ? c
                      : extra == 1 ? (c & 0x1F)
                      : extra == 2 ? (c & 0x0F)
                                   : (c & 0x07);
        for (int k = 1; k <= extra; ++k)
            cp =
                (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) & 0x3F);
        out += cp;
        i += static_cast<std::size_t>(extra) + 1;
    }
    return out;
}

std::string utf8_encode(const std::u32string& s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) utf8_append(out, c);
    return out;
}

bool is_py_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace actorlm::jinja

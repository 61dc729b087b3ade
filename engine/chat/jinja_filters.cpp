// Jinja2's built-in filters on single values (strings, numbers, JSON), with HF
// transformers' `tojson` (json.dumps(x, ensure_ascii=False, indent=None, separators=None,
// sort_keys=False), in that positional order); the table of all filters.
// Sequence filters live in jinja_sequence_filters.cpp. Stateless; safe from any thread.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include "chat/jinja_builtins.hpp"
#include "chat/jinja_json.hpp"
#include "chat/jinja_renderer.hpp"

// GCC 12 reports a false -Wrestrict inside std::string for `"literal" + std::string`
// (GCC bug 105329); the code is correct.
#pragma GCC diagnostic ignored "-Wrestrict"

namespace actorlm::jinja {

namespace {

std::vector<std::u32string> split_lines(const std::u32string& s) {
    std::vector<std::u32string> lines;
    std::u32string cur;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char32_t c = s[i];
        bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) ||
                   c == 0x85 || c == 0x2028 || c == 0x2029;
        if (!brk) {
            cur += c;
            continue;
        }
        if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        lines.push_back(std::move(cur));
        cur.clear();
    }
    if (!cur.empty()) lines.push_back(std::move(cur));
    return lines;
}

value f_tojson(renderer&, const value& v, call_args& args) {
    arg_reader r("tojson", args);
    value ensure_ascii = r.get(0, "ensure_ascii", value(false));
    value indent = r.get(1, "indent", value::none());
    value separators = r.get(2, "separators", value::none());
    value sort_keys = r.get(3, "sort_keys", value(false));
    r.finish();
    json_options o;
    o.ensure_ascii = truthy(ensure_ascii);
    o.sort_keys = truthy(sort_keys);
    if (indent.is_string())
        o.indent = indent.str();
    else if (indent.is_int()) {
        o.indent.emplace();
        for (std::int64_t i = 0; i < indent.as_int(); ++i) o.indent->push_back(' ');
    } else if (!indent.is_none())
        fail("tojson: indent must be an integer or a string, not %s", type_name(indent));
    if (o.indent) o.item_separator = ",";
    if (!separators.is_none()) {
        auto parts = iterate(separators);
        if (parts.size() != 2 || !parts[0].is_string() || !parts[1].is_string())
            fail("tojson: separators must be a pair of strings");
        o.item_separator = parts[0].str();
        o.key_separator = parts[1].str();
    }
    return value(to_json(v, o));
}

value f_length(renderer&, const value& v, call_args& args) {
    arg_reader("length", args).finish();
    return value(length(v));
}

value f_string(renderer&, const value& v, call_args& args) {
    arg_reader("string", args).finish();
    return value(to_str(v));
}

value f_default(renderer&, const value& v, call_args& args) {
    arg_reader r("default", args);
    value fallback = r.get(0, "default_value", value(""));
    value boolean = r.get(1, "boolean", value(false));
    r.finish();
    if (v.is_undefined() || (truthy(boolean) && !truthy(v))) return fallback;
    return v;
}

value string_filter(const char* name, const value& v, call_args& args) {
    arg_reader(name, args).finish();
    std::string s = to_str(v);
    std::string n = name;
    if (n == "upper") return value(py_upper(s));
    if (n == "lower") return value(py_lower(s));
    if (n == "capitalize") return value(py_capitalize(s));
    // title: Jinja upper-cases the first letter after '-', whitespace or an opening bracket.
    std::u32string u = utf8_decode(s);
    bool word_start = true;
    for (auto& c : u) {
        bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_py_space(c);
        if (sep) {
            word_start = true;
            continue;
        }
        std::string one;
        utf8_append(one, c);
        std::u32string conv = utf8_decode(word_start ? py_upper(one) : py_lower(one));
        c = conv.empty() ? c : conv[0];
        word_start = false;
    }
    return value(utf8_encode(u));
}

value f_upper(renderer&, const value& v, call_args& a) { return string_filter("upper", v, a); }
value f_lower(renderer&, const value& v, call_args& a) { return string_filter("lower", v, a); }
value f_capitalize(renderer&, const value& v, call_args& a) {
    return string_filter("capitalize", v, a);
}
value f_title(renderer&, const value& v, call_args& a) { return string_filter("title", v, a); }

value f_trim(renderer&, const value& v, call_args& args) {
    arg_reader r("trim", args);
    value chars = r.get(0, "chars", value::none());
    r.finish();
    return value(py_strip(to_str(v), chars, true, true));
}

value f_replace(renderer&, const value& v, call_args& args) {
    arg_reader r("replace", args);
    value old = r.get(0, "old"), repl = r.get(1, "new"), count = r.get(2, "count", value::none());
    r.finish();
    return value(
        py_replace(to_str(v), to_str(old), to_str(repl), count.is_none() ? -1 : count.as_int()));
}

value f_int(renderer&, const value& v, call_args& args) {
    arg_reader r("int", args);
    value fallback = r.get(0, "default", value(0));
    value base = r.get(1, "base", value(10));
    r.finish();
    v.require_defined();
    if (v.is_bool() || v.is_int()) return value(v.as_int());
    if (v.is_float())
        return std::isfinite(v.as_double()) ? value(static_cast<std::int64_t>(v.as_double()))
                                            : fallback;
    if (v.is_string()) {
        std::string s = py_strip(v.str(), value::none(), true, true);
        std::string digits;
        for (char c : s)
            if (c != '_') digits += c;
        char* end = nullptr;
        errno = 0;
        long long i = std::strtoll(digits.c_str(), &end, static_cast<int>(base.as_int()));
        if (!digits.empty() && *end == '\0' && errno == 0)
            return value(static_cast<std::int64_t>(i));
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == '\0' && std::isfinite(d))
            return value(static_cast<std::int64_t>(d));
    }
    return fallback;
}

value f_float(renderer&, const value& v, call_args& args) {
    arg_reader r("float", args);
    value fallback = r.get(0, "default", value(0.0));
    r.finish();
    v.require_defined();
    if (v.is_number()) return value(v.as_double());
    if (v.is_string()) {
        std::string s = py_strip(v.str(), value::none(), true, true);
        char* end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == '\0') return value(d);
    }
    return fallback;
}

value f_abs(renderer&, const value& v, call_args& args) {
    arg_reader("abs", args).finish();
    if (v.is_float()) return value(std::fabs(v.as_double()));
    if (v.is_number()) return value(static_cast<std::int64_t>(std::llabs(v.as_int())));
    v.require_defined();
    fail("bad operand type for abs(): '%s'", type_name(v));
}

value f_round(renderer&, const value& v, call_args& args) {
    arg_reader r("round", args);
    value precision = r.get(0, "precision", value(0));
    value method = r.get(1, "method", value("common"));
    r.finish();
    if (!v.is_number()) fail("round: expected a number, got %s", type_name(v));
    std::string m = to_str(method);
    if (m == "common" && !v.is_float()) return value(v.as_int());  // round(int, n) stays an int
    double scale = std::pow(10.0, static_cast<double>(precision.as_int()));
    double x = v.as_double() * scale;
    double rounded = m == "common"  ? std::nearbyint(x)
                     : m == "ceil"  ? std::ceil(x)
                     : m == "floor" ? std::floor(x)
                                    : (fail("method must be common, ceil or floor"), 0.0);
    return value(rounded / scale);
}

value f_indent(renderer&, const value& v, call_args& args) {
    arg_reader r("indent", args);
    value width = r.get(0, "width", value(4));
    value first = r.get(1, "first", value(false));
    value blank = r.get(2, "blank", value(false));
    r.finish();
    if (!v.is_string()) {  // Jinja's indent appends to its input, which must be a str
        v.require_defined();
        fail("indent: expected a string, got %s", type_name(v));
    }
    std::string pad =
        width.is_string()
            ? width.str()
            : std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, width.as_int())), ' ');
    auto lines = split_lines(utf8_decode(to_str(v) + "\n"));
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string line = utf8_encode(lines[i]);
        if (i > 0) {
            out += "\n";
            if (truthy(blank) || !line.empty()) out += pad;
        }
        out += line;
    }
    if (truthy(first)) out = pad + out;
    return value(std::move(out));
}

value f_safe(renderer&, const value& v, call_args& args) {
    arg_reader("safe", args).finish();
    return v;
}

value f_escape(renderer&, const value& v, call_args& args) {
    arg_reader("escape", args).finish();
    std::string out;
    for (char c : to_str(v)) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return value(std::move(out));
}

value f_wordcount(renderer&, const value& v, call_args& args) {
    arg_reader("wordcount", args).finish();
    std::int64_t n = 0;
    bool in_word = false;
    for (char32_t c : utf8_decode(to_str(v))) {
        bool w = c == '_' || (c < 0x80 ? std::isalnum(static_cast<int>(c)) != 0 : !is_py_space(c));
        if (w && !in_word) ++n;
        in_word = w;
    }
    return value(n);
}

value f_attr(renderer&, const value& v, call_args& args) {
    arg_reader r("attr", args);
    value name = r.get(0, "name");
    r.finish();
    return get_attr(v, to_str(name));
}

value f_format(renderer&, const value& v, call_args& args) {
    if (!args.keywords.empty()) {
        dict_t d;
        for (auto& [k, x] : args.keywords) d.set(value(k), x);
        return value(percent_format(to_str(v), value(std::move(d))));
    }
    return value(percent_format(to_str(v), value::list(args.positional, true)));
}

value f_center(renderer& rd, const value& v, call_args& args) {
    arg_reader r("center", args);
    value width = r.get(0, "width", value(80));
    r.finish();
    call_args inner;
    inner.positional.push_back(width);
    return rd.call(get_method(value(to_str(v)), "center"), inner);
}

const std::map<std::string, filter_fn>& filters() {
    static const std::map<std::string, filter_fn> table = [] {
        std::map<std::string, filter_fn> t = {
            {"abs", f_abs},         {"attr", f_attr},     {"capitalize", f_capitalize},
            {"center", f_center},   {"count", f_length},  {"d", f_default},
            {"default", f_default}, {"e", f_escape},      {"escape", f_escape},
            {"float", f_float},     {"format", f_format}, {"indent", f_indent},
            {"int", f_int},         {"length", f_length}, {"lower", f_lower},
            {"replace", f_replace}, {"round", f_round},   {"safe", f_safe},
            {"string", f_string},   {"title", f_title},   {"tojson", f_tojson},
            {"trim", f_trim},       {"upper", f_upper},   {"wordcount", f_wordcount},
        };
        add_sequence_filters(t);
        return t;
    }();
    return table;
}

}  // namespace

bool filter_exists(const std::string& name) { return filters().count(name) != 0; }

value apply_filter(renderer& r, const std::string& name, const value& input, call_args& args) {
    auto it = filters().find(name);
    if (it == filters().end()) fail("no filter named '%s'", name.c_str());
    return it->second(r, input, args);
}

}  // namespace actorlm::jinja

// Jinja2's built-in filters as chat templates use them, with HF transformers' `tojson`
// (json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False),
// in that positional order). Stateless; safe from any thread.
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

using filter_fn = value (*)(renderer&, const value&, call_args&);

// Jinja's make_attrgetter: dotted path, integer parts index sequences.
value attribute_path(const value& item, const std::string& path) {
    value v = item;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t dot = path.find('.', start);
        std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
        v = digits ? get_item(v, value(static_cast<std::int64_t>(std::stoll(part)))) : get_item(v, value(part));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return v;
}

value sort_key(const value& v, bool case_sensitive) {
    if (!case_sensitive && v.is_string()) return value(py_lower(v.str()));
    return v;
}

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
    if (indent.is_string()) o.indent = indent.str();
    else if (indent.is_int()) {
        o.indent.emplace();
        for (std::int64_t i = 0; i < indent.as_int(); ++i) o.indent->push_back(' ');
    }
    else if (!indent.is_none()) fail("tojson: indent must be an integer or a string, not %s", type_name(indent));
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

value f_items(renderer&, const value& v, call_args& args) {
    arg_reader("items", args).finish();
    if (v.is_undefined()) return value::list({});
    if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
    std::vector<value> out;
    for (const auto& [k, x] : v.as_dict().items) out.push_back(value::list({k, x}, true));
    return value::list(std::move(out));
}

value f_length(renderer&, const value& v, call_args& args) {
    arg_reader("length", args).finish();
    return value(length(v));
}

value f_string(renderer&, const value& v, call_args& args) {
    arg_reader("string", args).finish();
    return value(to_str(v));
}

value f_list(renderer&, const value& v, call_args& args) {
    arg_reader("list", args).finish();
    if (v.is_none() || v.is_number()) fail("'%s' object is not iterable", type_name(v));
    return value::list(iterate(v));
}

value f_first(renderer&, const value& v, call_args& args) {
    arg_reader("first", args).finish();
    auto items = iterate(v);
    return items.empty() ? value::undefined("No first item, sequence was empty.") : items.front();
}

value f_last(renderer&, const value& v, call_args& args) {
    arg_reader("last", args).finish();
    auto items = iterate(v);
    return items.empty() ? value::undefined("No last item, sequence was empty.") : items.back();
}

value f_join(renderer&, const value& v, call_args& args) {
    arg_reader r("join", args);
    value sep = r.get(0, "d", value(""));
    value attr = r.get(1, "attribute", value::none());
    r.finish();
    std::string out;
    bool first = true;
    for (const auto& item : iterate(v)) {
        if (!first) out += to_str(sep);
        first = false;
        out += to_str(attr.is_none() ? item : attribute_path(item, to_str(attr)));
    }
    return value(std::move(out));
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
    v.require_defined();
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
value f_capitalize(renderer&, const value& v, call_args& a) { return string_filter("capitalize", v, a); }
value f_title(renderer&, const value& v, call_args& a) { return string_filter("title", v, a); }

value f_trim(renderer&, const value& v, call_args& args) {
    arg_reader r("trim", args);
    value chars = r.get(0, "chars", value::none());
    r.finish();
    v.require_defined();
    return value(py_strip(to_str(v), chars, true, true));
}

value f_replace(renderer&, const value& v, call_args& args) {
    arg_reader r("replace", args);
    value old = r.get(0, "old"), repl = r.get(1, "new"), count = r.get(2, "count", value::none());
    r.finish();
    v.require_defined();
    return value(py_replace(to_str(v), to_str(old), to_str(repl), count.is_none() ? -1 : count.as_int()));
}

value f_int(renderer&, const value& v, call_args& args) {
    arg_reader r("int", args);
    value fallback = r.get(0, "default", value(0));
    value base = r.get(1, "base", value(10));
    r.finish();
    if (v.is_bool() || v.is_int()) return value(v.as_int());
    if (v.is_float()) return std::isfinite(v.as_double()) ? value(static_cast<std::int64_t>(v.as_double())) : fallback;
    if (v.is_string()) {
        std::string s = py_strip(v.str(), value::none(), true, true);
        std::string digits;
        for (char c : s)
            if (c != '_') digits += c;
        char* end = nullptr;
        errno = 0;
        long long i = std::strtoll(digits.c_str(), &end, static_cast<int>(base.as_int()));
        if (!digits.empty() && *end == '\0' && errno == 0) return value(static_cast<std::int64_t>(i));
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == '\0' && std::isfinite(d)) return value(static_cast<std::int64_t>(d));
    }
    return fallback;
}

value f_float(renderer&, const value& v, call_args& args) {
    arg_reader r("float", args);
    value fallback = r.get(0, "default", value(0.0));
    r.finish();
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
    double rounded = m == "common" ? std::nearbyint(x) : m == "ceil" ? std::ceil(x)
                   : m == "floor" ? std::floor(x) : (fail("method must be common, ceil or floor"), 0.0);
    return value(rounded / scale);
}

value f_indent(renderer&, const value& v, call_args& args) {
    arg_reader r("indent", args);
    value width = r.get(0, "width", value(4));
    value first = r.get(1, "first", value(false));
    value blank = r.get(2, "blank", value(false));
    r.finish();
    std::string pad = width.is_string() ? width.str()
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

value f_reverse(renderer&, const value& v, call_args& args) {
    arg_reader("reverse", args).finish();
    if (v.is_string()) {
        std::u32string u = utf8_decode(v.str());
        std::reverse(u.begin(), u.end());
        return value(utf8_encode(u));
    }
    auto items = iterate(v);
    std::reverse(items.begin(), items.end());
    return value::list(std::move(items));
}

value f_sort(renderer&, const value& v, call_args& args) {
    arg_reader r("sort", args);
    bool reverse = truthy(r.get(0, "reverse", value(false)));
    bool case_sensitive = truthy(r.get(1, "case_sensitive", value(false)));
    value attr = r.get(2, "attribute", value::none());
    r.finish();
    auto items = iterate(v);
    auto key = [&](const value& x) {
        return sort_key(attr.is_none() ? x : attribute_path(x, to_str(attr)), case_sensitive);
    };
    std::stable_sort(items.begin(), items.end(), [&](const value& a, const value& b) {
        return reverse ? less_than(key(b), key(a)) : less_than(key(a), key(b));
    });
    return value::list(std::move(items));
}

value f_dictsort(renderer&, const value& v, call_args& args) {
    arg_reader r("dictsort", args);
    bool case_sensitive = truthy(r.get(0, "case_sensitive", value(false)));
    std::string by = to_str(r.get(1, "by", value("key")));
    bool reverse = truthy(r.get(2, "reverse", value(false)));
    r.finish();
    if (!v.is_dict()) fail("dictsort: expected a mapping, got %s", type_name(v));
    std::vector<value> items;
    for (const auto& [k, x] : v.as_dict().items) items.push_back(value::list({k, x}, true));
    std::size_t pos = by == "value" ? 1 : 0;
    std::stable_sort(items.begin(), items.end(), [&](const value& a, const value& b) {
        value ka = sort_key(a.as_list().items[pos], case_sensitive);
        value kb = sort_key(b.as_list().items[pos], case_sensitive);
        return reverse ? less_than(kb, ka) : less_than(ka, kb);
    });
    return value::list(std::move(items));
}

value f_unique(renderer&, const value& v, call_args& args) {
    arg_reader r("unique", args);
    bool case_sensitive = truthy(r.get(0, "case_sensitive", value(false)));
    value attr = r.get(1, "attribute", value::none());
    r.finish();
    std::vector<value> out, seen;
    for (const auto& x : iterate(v)) {
        value k = sort_key(attr.is_none() ? x : attribute_path(x, to_str(attr)), case_sensitive);
        if (std::any_of(seen.begin(), seen.end(), [&](const value& s) { return equals(s, k); })) continue;
        seen.push_back(k);
        out.push_back(x);
    }
    return value::list(std::move(out));
}

value min_max(const value& v, call_args& args, bool want_max) {
    arg_reader r(want_max ? "max" : "min", args);
    bool case_sensitive = truthy(r.get(0, "case_sensitive", value(false)));
    value attr = r.get(1, "attribute", value::none());
    r.finish();
    auto items = iterate(v);
    if (items.empty()) return value::undefined("No aggregated item, sequence was empty.");
    std::size_t best = 0;
    auto key = [&](const value& x) { return sort_key(attr.is_none() ? x : attribute_path(x, to_str(attr)), case_sensitive); };
    for (std::size_t i = 1; i < items.size(); ++i)
        if (want_max ? less_than(key(items[best]), key(items[i])) : less_than(key(items[i]), key(items[best]))) best = i;
    return items[best];
}
value f_min(renderer&, const value& v, call_args& a) { return min_max(v, a, false); }
value f_max(renderer&, const value& v, call_args& a) { return min_max(v, a, true); }

value f_sum(renderer&, const value& v, call_args& args) {
    arg_reader r("sum", args);
    value attr = r.get(0, "attribute", value::none());
    value total = r.get(1, "start", value(0));
    r.finish();
    for (const auto& x : iterate(v)) {
        value y = attr.is_none() ? x : attribute_path(x, to_str(attr));
        total = add(total, y);
    }
    return total;
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

value f_batch(renderer&, const value& v, call_args& args) {
    arg_reader r("batch", args);
    value count = r.get(0, "linecount");
    value fill = r.get(1, "fill_with", value::none());
    r.finish();
    if (!count.is_int() || count.as_int() <= 0) fail("batch: linecount must be a positive integer");
    auto n = static_cast<std::size_t>(count.as_int());
    std::vector<value> out, cur;
    for (const auto& x : iterate(v)) {
        cur.push_back(x);
        if (cur.size() == n) {
            out.push_back(value::list(std::move(cur)));
            cur.clear();
        }
    }
    if (!cur.empty()) {
        if (!fill.is_none())
            while (cur.size() < n) cur.push_back(fill);
        out.push_back(value::list(std::move(cur)));
    }
    return value::list(std::move(out));
}

value f_center(renderer& rd, const value& v, call_args& args) {
    arg_reader r("center", args);
    value width = r.get(0, "width", value(80));
    r.finish();
    call_args inner;
    inner.positional.push_back(width);
    return rd.call(get_method(value(to_str(v)), "center"), inner);
}

// select / reject / selectattr / rejectattr share Jinja's prepare_select_or_reject.
value select_common(renderer& rd, const value& v, call_args& args, bool with_attr, bool keep_when) {
    std::vector<value> rest = args.positional;
    std::string attr;
    if (with_attr) {
        if (rest.empty()) fail("selectattr/rejectattr: missing attribute name");
        attr = to_str(rest.front());
        rest.erase(rest.begin());
    }
    std::string test;
    if (!rest.empty()) {
        test = to_str(rest.front());
        rest.erase(rest.begin());
    }
    std::vector<value> out;
    for (const auto& item : iterate(v)) {
        value x = with_attr ? attribute_path(item, attr) : item;
        bool ok;
        if (test.empty()) {
            ok = truthy(x);
        } else {
            call_args targs;
            targs.positional = rest;
            targs.keywords = args.keywords;
            ok = apply_test(rd, test, x, targs);
        }
        if (ok == keep_when) out.push_back(item);
    }
    return value::list(std::move(out));
}
value f_select(renderer& r, const value& v, call_args& a) { return select_common(r, v, a, false, true); }
value f_reject(renderer& r, const value& v, call_args& a) { return select_common(r, v, a, false, false); }
value f_selectattr(renderer& r, const value& v, call_args& a) { return select_common(r, v, a, true, true); }
value f_rejectattr(renderer& r, const value& v, call_args& a) { return select_common(r, v, a, true, false); }

value f_map(renderer& rd, const value& v, call_args& args) {
    std::vector<value> out;
    value attribute, fallback;
    bool by_attr = false;
    for (auto& [k, x] : args.keywords) {
        if (k == "attribute") {
            attribute = x;
            by_attr = true;
        } else if (k == "default") {
            fallback = x;
        }
    }
    if (by_attr) {
        if (!args.positional.empty()) fail("map: positional arguments with attribute= are not allowed");
        for (const auto& item : iterate(v)) {
            value x = attribute_path(item, to_str(attribute));
            out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
        }
        return value::list(std::move(out));
    }
    if (args.positional.empty()) fail("map: expected a filter name or attribute=");
    std::string filter = to_str(args.positional.front());
    call_args rest;
    rest.positional.assign(args.positional.begin() + 1, args.positional.end());
    rest.keywords = args.keywords;
    for (const auto& item : iterate(v)) {
        call_args a = rest;
        out.push_back(apply_filter(rd, filter, item, a));
    }
    return value::list(std::move(out));
}

const std::map<std::string, filter_fn>& filters() {
    static const std::map<std::string, filter_fn> table = {
        {"abs", f_abs}, {"attr", f_attr}, {"batch", f_batch}, {"center", f_center}, {"capitalize", f_capitalize}, {"count", f_length},
        {"d", f_default}, {"default", f_default}, {"dictsort", f_dictsort}, {"e", f_escape},
        {"escape", f_escape}, {"first", f_first}, {"float", f_float}, {"format", f_format},
        {"indent", f_indent}, {"int", f_int}, {"items", f_items}, {"join", f_join},
        {"last", f_last}, {"length", f_length}, {"list", f_list}, {"lower", f_lower},
        {"map", f_map}, {"max", f_max}, {"min", f_min}, {"reject", f_reject},
        {"rejectattr", f_rejectattr}, {"replace", f_replace}, {"reverse", f_reverse},
        {"round", f_round}, {"safe", f_safe}, {"select", f_select}, {"selectattr", f_selectattr},
        {"sort", f_sort}, {"string", f_string}, {"sum", f_sum}, {"title", f_title},
        {"tojson", f_tojson}, {"trim", f_trim}, {"unique", f_unique}, {"upper", f_upper},
        {"wordcount", f_wordcount},
    };
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

// Jinja2's filters over sequences and mappings: items, list, first, last, join, reverse,
// sort, dictsort, unique, min, max, sum, batch, map, select/reject(attr). Attribute paths
// follow Jinja's make_attrgetter (dotted, integer parts index). Stateless; thread-safe.
#include <algorithm>
#include <charconv>

#include "chat/jinja_builtins.hpp"
#include "chat/jinja_renderer.hpp"

namespace actorlm::jinja {

namespace {

// Jinja's make_attrgetter: dotted path, integer parts index sequences.
value attribute_path(const value& item, const std::string& path) {
    value v = item;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t dot = path.find('.', start);
        std::string part =
            path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        // Integer parts index sequences; one too long for 64 bits is a (missing) key.
        std::int64_t index = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
        const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit) &&
                            ec == std::errc() && end == part.data() + part.size();
        v = digits ? get_item(v, value(index)) : get_item(v, value(part));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return v;
}

value sort_key(const value& v, bool case_sensitive) {
    if (!case_sensitive && v.is_string()) return value(py_lower(v.str()));
    return v;
}

value f_items(renderer&, const value& v, call_args& args) {
    arg_reader("items", args).finish();
    if (v.is_undefined()) return value::list({});
    if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
    std::vector<value> out;
    for (const auto& [k, x] : v.as_dict().items) out.push_back(value::list({k, x}, true));
    return value::list(std::move(out));
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
    // Jinja's make_multi_attrgetter: the key is a list (one entry per comma-separated
    // attribute), so equal keys compare with == before any `<` (Undefined == Undefined).
    std::vector<std::string> parts;
    if (!attr.is_none()) {
        std::string a = to_str(attr);
        for (std::size_t start = 0;;) {
            std::size_t comma = a.find(',', start);
            parts.push_back(
                a.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    auto key = [&](const value& x) {
        std::vector<value> k;
        if (parts.empty()) k.push_back(sort_key(x, case_sensitive));
        for (const auto& p : parts) k.push_back(sort_key(attribute_path(x, p), case_sensitive));
        return value::list(std::move(k));
    };
    std::vector<std::pair<value, value>> keyed;
    for (auto& x : items) keyed.emplace_back(key(x), std::move(x));
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        return reverse ? less_than(b.first, a.first) : less_than(a.first, b.first);
    });
    items.clear();
    for (auto& kv : keyed) items.push_back(std::move(kv.second));
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
        if (k.is_dict() || (k.is_list() && !k.as_list().tuple))
            fail("unhashable type: '%s'", type_name(k));
        if (std::any_of(seen.begin(), seen.end(), [&](const value& s) { return equals(s, k); }))
            continue;
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
    auto key = [&](const value& x) {
        return sort_key(attr.is_none() ? x : attribute_path(x, to_str(attr)), case_sensitive);
    };
    for (std::size_t i = 1; i < items.size(); ++i)
        if (want_max ? less_than(key(items[best]), key(items[i]))
                     : less_than(key(items[i]), key(items[best])))
            best = i;
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

// select / reject / selectattr / rejectattr share Jinja's prepare_select_or_reject.
value select_common(renderer& rd, const value& v, call_args& args, bool with_attr, bool keep_when) {
    if (!truthy(v)) return value::list({});  // Jinja guards with `if value:`
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
value f_select(renderer& r, const value& v, call_args& a) {
    return select_common(r, v, a, false, true);
}
value f_reject(renderer& r, const value& v, call_args& a) {
    return select_common(r, v, a, false, false);
}
value f_selectattr(renderer& r, const value& v, call_args& a) {
    return select_common(r, v, a, true, true);
}
value f_rejectattr(renderer& r, const value& v, call_args& a) {
    return select_common(r, v, a, true, false);
}

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
    if (!truthy(v)) return value::list({});  // Jinja guards with `if value:`
    if (by_attr) {
        if (!args.positional.empty())
            fail("map: positional arguments with attribute= are not allowed");
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

}  // namespace

void add_sequence_filters(std::map<std::string, filter_fn>& table) {
    table.insert({
        {"batch", f_batch},
        {"dictsort", f_dictsort},
        {"first", f_first},
        {"items", f_items},
        {"join", f_join},
        {"last", f_last},
        {"list", f_list},
        {"map", f_map},
        {"max", f_max},
        {"min", f_min},
        {"reject", f_reject},
        {"rejectattr", f_rejectattr},
        {"reverse", f_reverse},
        {"select", f_select},
        {"selectattr", f_selectattr},
        {"sort", f_sort},
        {"sum", f_sum},
        {"unique", f_unique},
    });
}

}  // namespace actorlm::jinja

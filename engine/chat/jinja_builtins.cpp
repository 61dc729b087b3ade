// Global functions, attribute/item/slice access and argument binding for the chat
// environment. Attribute rules follow jinja2.sandbox.ImmutableSandboxedEnvironment:
// methods that would mutate a list or dict resolve to an Undefined that raises a
// security error when called. Stateless; safe from any thread.
#include "chat/jinja_builtins.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "chat/jinja_renderer.hpp"

// GCC 12 reports a false -Wrestrict inside std::string for `"literal" + std::string`
// (GCC bug 105329); the code is correct.
#pragma GCC diagnostic ignored "-Wrestrict"

namespace actorlm::jinja {

namespace {

constexpr std::int64_t k_max_range = 100000;  // jinja2.sandbox.MAX_RANGE

bool is_unsafe_method(const value& obj, const std::string& name) {
    static const char* const dict_mut[] = {"clear", "pop", "popitem", "setdefault", "update"};
    static const char* const list_mut[] = {"append", "clear",  "extend",  "insert",
                                           "pop",    "remove", "reverse", "sort"};
    if (obj.is_dict()) {
        for (const char* m : dict_mut)
            if (name == m) return true;
    } else if (obj.is_list() && !obj.as_list().tuple) {
        for (const char* m : list_mut)
            if (name == m) return true;
    }
    return false;
}

value unsafe(const value& obj, const std::string& name) {
    if (obj.is_list() && (name == "pop" || name == "clear"))  // Jinja2's sandbox allows these two
        return value::undefined("list." + name +
                                "() mutates a list; this interpreter keeps values "
                                "immutable and does not support it");
    return value::undefined("access to attribute '" + name + "' of '" + type_name(obj) +
                            "' object is unsafe (the chat-template sandbox is immutable)");
}

std::string object_desc(const value& obj) {
    if (obj.is_none()) return "None";
    return std::string(type_name(obj)) + " object";
}

value missing_attr(const value& obj, const std::string& name) {
    return value::undefined("'" + object_desc(obj) + "' has no attribute '" + name + "'");
}

value range_fn(renderer&, call_args& args) {
    arg_reader r("range", args);
    value a = r.get(0, "start"), b = r.get(1, "stop"), c = r.get(2, "step", value(1));
    r.finish();
    std::int64_t start = 0, stop = 0, step = 1;
    auto as_int = [](const value& v) {
        if (!v.is_int() && !v.is_bool())
            fail("'%s' object cannot be interpreted as an integer", type_name(v));
        return v.as_int();
    };
    if (a.is_undefined()) fail("range expected at least 1 argument, got 0");
    if (b.is_undefined()) {
        stop = as_int(a);
    } else {
        start = as_int(a);
        stop = as_int(b);
        step = as_int(c);
    }
    if (step == 0) fail("range() arg 3 must not be zero");
    std::int64_t count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                                  : (start > stop ? (start - stop - step - 1) / -step : 0);
    if (count > k_max_range)
        fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (%lld).",
             static_cast<long long>(k_max_range));
    std::vector<value> items;
    for (std::int64_t i = 0; i < count; ++i) items.emplace_back(start + i * step);
    return value::list(std::move(items));
}

value dict_fn(renderer&, call_args& args) {
    dict_t d;
    if (args.positional.size() > 1)
        fail("dict expected at most 1 argument, got %zu", args.positional.size());
    if (!args.positional.empty()) {
        const value& src = args.positional[0];
        if (src.is_dict()) {
            d = src.as_dict();
        } else {
            for (const auto& pair : iterate(src)) {
                auto kv = iterate(pair);
                if (kv.size() != 2)
                    fail("dictionary update sequence element has length %zu; 2 is required",
                         kv.size());
                d.set(kv[0], kv[1]);
            }
        }
    }
    for (auto& [k, v] : args.keywords) d.set(value(k), v);
    return value(std::move(d));
}

value namespace_fn(renderer& r, call_args& args) {
    auto ns = std::make_shared<namespace_t>();
    r.track(ns);
    auto put = [&](const std::string& k, const value& v) {
        if (value* slot = ns->find(k))
            *slot = v;
        else
            ns->attrs.emplace_back(k, v);
    };
    for (const auto& p : args.positional) {
        if (!p.is_dict())
            fail("namespace() positional argument must be a mapping, not %s", type_name(p));
        for (const auto& [k, v] : p.as_dict().items) put(to_str(k), v);
    }
    for (auto& [k, v] : args.keywords) put(k, v);
    return value(ns);
}

value raise_exception_fn(renderer&, call_args& args) {
    std::string msg = args.positional.empty() ? "" : to_str(args.positional[0]);
    fail("raise_exception: %s", msg.c_str());
}

value strftime_now_fn(renderer& r, call_args& args) {
    arg_reader reader("strftime_now", args);
    value fmt = reader.get(0, "format");
    reader.finish();
    if (!fmt.is_string()) fail("strftime_now() expects a format string, got %s", type_name(fmt));
    std::time_t t = r.now();
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[512];
    std::size_t n = std::strftime(buf, sizeof(buf), fmt.str().c_str(), &tm);
    return value(std::string(buf, n));
}

std::int64_t slice_index(const value& v, const char* what) {
    if (!v.is_int() && !v.is_bool())
        fail("slice %s must be an integer or None, not %s", what, type_name(v));
    return v.as_int();
}

}  // namespace

value builtin_global(const std::string& name) {
    if (name == "range") return value::function("range", range_fn);
    if (name == "dict") return value::function("dict", dict_fn);
    if (name == "namespace") return value::function("namespace", namespace_fn);
    if (name == "raise_exception") return value::function("raise_exception", raise_exception_fn);
    if (name == "strftime_now") return value::function("strftime_now", strftime_now_fn);
    return value::undefined("'" + name + "' is undefined");
}

value get_attr(const value& obj, const std::string& name) {
    obj.require_defined();
    if (obj.is_namespace()) {
        if (value* v = obj.as_namespace().find(name)) return *v;
        return missing_attr(obj, name);
    }
    if (is_unsafe_method(obj, name)) return unsafe(obj, name);
    value method = get_method(obj, name);
    if (!method.is_undefined()) return method;
    if (obj.is_dict()) {
        if (const value* v = obj.as_dict().find(name)) return *v;
    }
    return missing_attr(obj, name);
}

value get_item(const value& obj, const value& key) {
    obj.require_defined();
    if (obj.is_dict()) {
        if (const value* v = obj.as_dict().find(key)) return *v;
    } else if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
        std::int64_t n = length(obj);
        std::int64_t i = key.as_int();
        if (i < 0) i += n;
        if (i >= 0 && i < n) {
            if (obj.is_list()) return obj.as_list().items[static_cast<std::size_t>(i)];
            std::u32string s = utf8_decode(obj.str());
            return value(utf8_encode(s.substr(static_cast<std::size_t>(i), 1)));
        }
    } else if (obj.is_namespace() && key.is_string()) {
        if (value* v = obj.as_namespace().find(key.str())) return *v;
    }
    if (key.is_string()) {
        if (is_unsafe_method(obj, key.str())) return unsafe(obj, key.str());
        value method = get_method(obj, key.str());
        if (!method.is_undefined()) return method;
        return missing_attr(obj, key.str());
    }
    return value::undefined("'" + object_desc(obj) + "' has no element " + to_repr(key));
}

value get_slice(const value& obj, const value& start_v, const value& stop_v, const value& step_v) {
    obj.require_defined();
    // Jinja compiles a slice to a plain Python subscript (no sandbox fallback to Undefined).
    if (obj.is_dict()) fail("unhashable type: 'slice'");
    if (!obj.is_string() && !obj.is_list())
        fail("'%s' object is not subscriptable", type_name(obj));
    std::int64_t step = step_v.is_none() ? 1 : slice_index(step_v, "step");
    if (step == 0) fail("slice step cannot be zero");
    std::int64_t n = length(obj);
    std::int64_t lower = step > 0 ? 0 : -1, upper = step > 0 ? n : n - 1;
    auto adjust = [&](const value& v, std::int64_t fallback, const char* what) {
        if (v.is_none()) return fallback;
        std::int64_t i = slice_index(v, what);
        if (i < 0) return std::max(i + n, lower);
        return std::min(i, upper);
    };
    std::int64_t start = adjust(start_v, step > 0 ? lower : upper, "start");
    std::int64_t stop = adjust(stop_v, step > 0 ? upper : lower, "stop");
    std::vector<std::size_t> picks;
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
        picks.push_back(static_cast<std::size_t>(i));
    if (obj.is_string()) {
        std::u32string s = utf8_decode(obj.str()), out;
        for (auto i : picks) out += s[i];
        return value(utf8_encode(out));
    }
    std::vector<value> items;
    for (auto i : picks) items.push_back(obj.as_list().items[i]);
    return value::list(std::move(items), obj.as_list().tuple);
}

value arg_reader::get(std::size_t position, const char* name, value fallback) {
    names_.emplace_back(name);
    max_position_ = std::max(max_position_, position + 1);
    bool have_pos = position < args_.positional.size();
    for (const auto& [k, v] : args_.keywords)
        if (k == name) {
            if (have_pos) fail("%s() got multiple values for argument '%s'", fn_, name);
            return v;
        }
    if (have_pos) return args_.positional[position];
    return fallback;
}

void arg_reader::finish() {
    if (args_.positional.size() > max_position_)
        fail("%s() takes at most %zu positional arguments (%zu given)", fn_, max_position_,
             args_.positional.size());
    for (const auto& [k, v] : args_.keywords) {
        bool known = false;
        for (const auto& n : names_)
            if (n == k) known = true;
        if (!known) fail("%s() got an unexpected keyword argument '%s'", fn_, k.c_str());
    }
}

std::string percent_format(const std::string& fmt, const value& args) {
    std::vector<value> list;
    const dict_t* mapping = nullptr;
    if (args.is_list() && args.as_list().tuple)
        list = args.as_list().items;
    else if (args.is_dict())
        mapping = &args.as_dict();
    else
        list.push_back(args);
    std::size_t next = 0;
    std::string out;
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%') {
            out += fmt[i];
            continue;
        }
        if (++i >= fmt.size()) fail("incomplete format");
        const value* arg = nullptr;
        if (fmt[i] == '(') {
            std::size_t close = fmt.find(')', i);
            if (close == std::string::npos || !mapping) fail("format requires a mapping");
            arg = mapping->find(fmt.substr(i + 1, close - i - 1));
            if (!arg) fail("KeyError: '%s'", fmt.substr(i + 1, close - i - 1).c_str());
            i = close + 1;
        }
        std::string spec = "%";
        while (i < fmt.size() && std::string("-+ #0123456789.").find(fmt[i]) != std::string::npos)
            spec += fmt[i++];
        if (i >= fmt.size()) fail("incomplete format");
        char type = fmt[i];
        if (type == '%') {
            out += '%';
            continue;
        }
        if (!arg) {
            if (next >= list.size()) fail("not enough arguments for format string");
            arg = &list[next++];
        }
        char buf[512];
        switch (type) {
            case 's':
            case 'r': {
                std::string s = type == 's' ? to_str(*arg) : to_repr(*arg);
                std::snprintf(buf, sizeof(buf), (spec + "s").c_str(), s.c_str());
                out += (spec == "%") ? s : std::string(buf);
                break;
            }
            case 'd':
            case 'i':
            case 'x':
            case 'X':
            case 'o':
            case 'c':
                if (!arg->is_number())
                    fail("%%%c format: a number is required, not %s", type, type_name(*arg));
                std::snprintf(buf, sizeof(buf), (spec + "ll" + (type == 'i' ? 'd' : type)).c_str(),
                              static_cast<long long>(
                                  arg->is_float() ? static_cast<std::int64_t>(arg->as_double())
                                                  : arg->as_int()));
                out += buf;
                break;
            case 'f':
            case 'F':
            case 'e':
            case 'E':
            case 'g':
            case 'G':
                if (!arg->is_number()) fail("must be real number, not %s", type_name(*arg));
                std::snprintf(buf, sizeof(buf), (spec + type).c_str(), arg->as_double());
                out += buf;
                break;
            default: fail("unsupported format character '%c'", type);
        }
    }
    // Python only checks leftovers for tuples and plain values; a list or dict argument
    // is "mapping-like" and may go unused.
    bool mapping_like = args.is_dict() || (args.is_list() && !args.as_list().tuple);
    if (!mapping_like && next < list.size())
        fail("not all arguments converted during string formatting");
    return out;
}

std::string brace_format(const std::string& fmt, const call_args& args) {
    std::string out;
    std::size_t auto_index = 0;
    for (std::size_t i = 0; i < fmt.size(); ++i) {
        char c = fmt[i];
        if (c == '}') {
            if (i + 1 < fmt.size() && fmt[i + 1] == '}') ++i;
            out += '}';
            continue;
        }
        if (c != '{') {
            out += c;
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out += '{';
            ++i;
            continue;
        }
        std::size_t close = fmt.find('}', i);
        if (close == std::string::npos) fail("Single '{' encountered in format string");
        std::string field = fmt.substr(i + 1, close - i - 1);
        bool repr = false;
        if (field.size() >= 2 && field[field.size() - 2] == '!') {
            repr = field.back() == 'r';
            field.resize(field.size() - 2);
        }
        if (field.find(':') != std::string::npos)
            fail("format specs in str.format are not supported");
        const value* arg = nullptr;
        if (field.empty()) {
            if (auto_index >= args.positional.size())
                fail("Replacement index %zu out of range", auto_index);
            arg = &args.positional[auto_index++];
        } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
            std::size_t k = std::stoul(field);
            if (k >= args.positional.size()) fail("Replacement index %zu out of range", k);
            arg = &args.positional[k];
        } else {
            for (const auto& [k, v] : args.keywords)
                if (k == field) arg = &v;
            if (!arg) fail("KeyError: '%s'", field.c_str());
        }
        out += repr ? to_repr(*arg) : to_str(*arg);
        i = close;
    }
    return out;
}

}  // namespace actorlm::jinja

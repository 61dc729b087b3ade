// Python methods callable on template values: str (strip, split, startswith, replace,
// format, ...), dict (get, items, keys, values) and list (count, index). Strings are
// handled per code point, as Python does. Stateless; safe from any thread.
#include <utf8proc.h>

#include <algorithm>

#include "chat/jinja_builtins.hpp"
#include "chat/jinja_renderer.hpp"

namespace actorlm::jinja {

namespace {

using method_fn = value (*)(const value& self, call_args& args);

char32_t upper_cp(char32_t c) {
    return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
}
char32_t lower_cp(char32_t c) {
    return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
}
char32_t title_cp(char32_t c) {
    return static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(c)));
}
bool is_cased(char32_t c) {
    auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
           cat == UTF8PROC_CATEGORY_LT;
}

const std::string& need_str(const value& v, const char* what) {
    if (!v.is_string()) fail("%s must be str, not %s", what, type_name(v));
    return v.str();
}

}  // namespace

std::string py_strip(const std::string& s, const value& chars, bool left, bool right) {
    std::u32string u = utf8_decode(s);
    std::u32string set;
    bool ws = chars.is_none() || chars.is_undefined();
    if (!ws) set = utf8_decode(need_str(chars, "strip arg"));
    auto strip_it = [&](char32_t c) {
        return ws ? is_py_space(c) : set.find(c) != std::u32string::npos;
    };
    std::size_t b = 0, e = u.size();
    if (left)
        while (b < e && strip_it(u[b])) ++b;
    if (right)
        while (e > b && strip_it(u[e - 1])) --e;
    return utf8_encode(u.substr(b, e - b));
}

// Python's str.upper() applies SpecialCasing's one-to-many mappings; utf8proc has
// only one-to-one ones, so the ones that occur in text are spelled out here.
static const char32_t* special_upper(char32_t c) {
    switch (c) {
        case 0x00DF: return U"SS";  // ß
        case 0xFB00: return U"FF";
        case 0xFB01: return U"FI";
        case 0xFB02: return U"FL";
        case 0xFB03: return U"FFI";
        case 0xFB04: return U"FFL";
        case 0xFB05:
        case 0xFB06: return U"ST";
        case 0x0149: return U"\u02BCN";  // ŉ
        default: return nullptr;
    }
}

std::string py_upper(const std::string& s) {
    std::u32string out;
    for (char32_t c : utf8_decode(s)) {
        if (const char32_t* sp = special_upper(c))
            out += sp;
        else
            out += upper_cp(c);
    }
    return utf8_encode(out);
}

std::string py_lower(const std::string& s) {
    std::u32string out;
    for (char32_t c : utf8_decode(s)) {
        if (c == 0x0130)
            out += U"i\u0307";  // İ lower-cases to two code points
        else
            out += lower_cp(c);
    }
    return utf8_encode(out);
}

std::string py_title(const std::string& s) {
    std::u32string u = utf8_decode(s);
    bool prev_cased = false;
    for (auto& c : u) {
        c = prev_cased ? lower_cp(c) : title_cp(c);
        prev_cased = is_cased(c);
    }
    return utf8_encode(u);
}

std::string py_capitalize(const std::string& s) {
    std::u32string u = utf8_decode(s);
    for (std::size_t i = 0; i < u.size(); ++i) u[i] = i == 0 ? title_cp(u[i]) : lower_cp(u[i]);
    return utf8_encode(u);
}

std::string py_replace(const std::string& s, const std::string& old, const std::string& repl,
                       std::int64_t count) {
    std::string out;
    if (old.empty()) {  // Python inserts `repl` around every character
        std::u32string u = utf8_decode(s);
        std::int64_t done = 0;
        for (std::size_t i = 0; i <= u.size(); ++i) {
            if (count < 0 || done < count) {
                out += repl;
                ++done;
            }
            if (i < u.size()) utf8_append(out, u[i]);
        }
        return out;
    }
    std::size_t pos = 0;
    std::int64_t done = 0;
    while (count < 0 || done < count) {
        std::size_t hit = s.find(old, pos);
        if (hit == std::string::npos) break;
        out.append(s, pos, hit - pos);
        out += repl;
        pos = hit + old.size();
        ++done;
    }
    out.append(s, pos, std::string::npos);
    return out;
}

std::vector<value> py_split(const std::string& s, const value& sep, std::int64_t maxsplit) {
    std::vector<value> parts;
    if (sep.is_none() || sep.is_undefined()) {
        std::u32string u = utf8_decode(s);
        std::size_t i = 0;
        while (true) {
            while (i < u.size() && is_py_space(u[i])) ++i;
            if (i >= u.size()) break;
            if (maxsplit >= 0 && static_cast<std::int64_t>(parts.size()) >= maxsplit) {
                std::size_t e = u.size();
                while (e > i && is_py_space(u[e - 1])) --e;
                parts.emplace_back(utf8_encode(u.substr(i, e - i)));
                break;
            }
            std::size_t j = i;
            while (j < u.size() && !is_py_space(u[j])) ++j;
            parts.emplace_back(utf8_encode(u.substr(i, j - i)));
            i = j;
        }
        return parts;
    }
    const std::string& d = need_str(sep, "separator");
    if (d.empty()) fail("empty separator");
    std::size_t pos = 0;
    while (maxsplit < 0 || static_cast<std::int64_t>(parts.size()) < maxsplit) {
        std::size_t hit = s.find(d, pos);
        if (hit == std::string::npos) break;
        parts.emplace_back(s.substr(pos, hit - pos));
        pos = hit + d.size();
    }
    parts.emplace_back(s.substr(pos));
    return parts;
}

namespace {

std::int64_t cp_index(const std::string& s, std::size_t byte_pos) {
    std::int64_t n = 0;
    for (std::size_t i = 0; i < byte_pos; ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
    return n;
}

bool affix_match(const value& self, call_args& args, bool prefix) {
    arg_reader r(prefix ? "startswith" : "endswith", args);
    value what = r.get(0, "prefix");
    r.finish();
    const std::string& s = self.str();
    auto test = [&](const value& a) {
        const std::string& x = need_str(a, prefix ? "startswith arg" : "endswith arg");
        if (x.size() > s.size()) return false;
        return prefix ? s.compare(0, x.size(), x) == 0
                      : s.compare(s.size() - x.size(), x.size(), x) == 0;
    };
    if (what.is_list() && what.as_list().tuple) {
        for (const auto& a : what.as_list().items)
            if (test(a)) return true;
        return false;
    }
    return test(what);
}

value str_method(const value& self, const std::string& name, call_args& args) {
    const std::string& s = self.str();
    arg_reader r(name.c_str(), args);
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        value chars = r.get(0, "chars", value::none());
        r.finish();
        return value(py_strip(s, chars, name != "rstrip", name != "lstrip"));
    }
    if (name == "split" || name == "rsplit") {
        value sep = r.get(0, "sep", value::none());
        value maxsplit = r.get(1, "maxsplit", value(-1));
        r.finish();
        if (name == "rsplit" && maxsplit.as_int() >= 0) {
            // rsplit with a limit: split from the right by reversing code points.
            std::u32string u = utf8_decode(s);
            std::reverse(u.begin(), u.end());
            std::u32string d = sep.is_none() ? U"" : utf8_decode(need_str(sep, "separator"));
            std::reverse(d.begin(), d.end());
            auto parts = py_split(utf8_encode(u), sep.is_none() ? sep : value(utf8_encode(d)),
                                  maxsplit.as_int());
            std::reverse(parts.begin(), parts.end());
            for (auto& p : parts) {
                std::u32string x = utf8_decode(p.str());
                std::reverse(x.begin(), x.end());
                p = value(utf8_encode(x));
            }
            return value::list(std::move(parts));
        }
        return value::list(py_split(s, sep, maxsplit.as_int()));
    }
    if (name == "splitlines") {
        value keep = r.get(0, "keepends", value(false));
        r.finish();
        std::vector<value> lines;
        std::size_t start = 0;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '\n' || s[i] == '\r') {
                std::size_t end = i;
                if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
                lines.emplace_back(s.substr(start, (truthy(keep) ? i + 1 : end) - start));
                start = i + 1;
            }
        }
        if (start < s.size()) lines.emplace_back(s.substr(start));
        return value::list(std::move(lines));
    }
    if (name == "startswith" || name == "endswith")
        return value(affix_match(self, args, name == "startswith"));
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" ||
        name == "casefold") {
        r.finish();
        if (name == "upper") return value(py_upper(s));
        if (name == "title") return value(py_title(s));
        if (name == "capitalize") return value(py_capitalize(s));
        return value(py_lower(s));
    }
    if (name == "replace") {
        value old = r.get(0, "old"), repl = r.get(1, "new"), count = r.get(2, "count", value(-1));
        r.finish();
        return value(py_replace(s, need_str(old, "replace arg"), need_str(repl, "replace arg"),
                                count.as_int()));
    }
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex" ||
        name == "count") {
        value sub = r.get(0, "sub");
        r.finish();
        const std::string& x = need_str(sub, "substring");
        if (name == "count") {
            if (x.empty()) return value(length(self) + 1);
            std::int64_t n = 0;
            for (std::size_t p = s.find(x); p != std::string::npos; p = s.find(x, p + x.size()))
                ++n;
            return value(n);
        }
        std::size_t hit = name[0] == 'r' ? s.rfind(x) : s.find(x);
        if (hit == std::string::npos) {
            if (name == "index" || name == "rindex") fail("substring not found");
            return value(-1);
        }
        return value(cp_index(s, hit));
    }
    if (name == "join") {
        value items = r.get(0, "iterable");
        r.finish();
        std::string out;
        bool first = true;
        for (const auto& v : iterate(items)) {
            if (!v.is_string())
                fail("sequence item: expected str instance, %s found", type_name(v));
            if (!first) out += s;
            first = false;
            out += v.str();
        }
        return value(std::move(out));
    }
    if (name == "format") return value(brace_format(s, args));
    if (name == "removeprefix" || name == "removesuffix") {
        value affix = r.get(0, "affix");
        const std::string& x = need_str(affix, name.c_str());
        r.finish();
        if (name == "removeprefix" && s.compare(0, x.size(), x) == 0)
            return value(s.substr(x.size()));
        if (name == "removesuffix" && x.size() <= s.size() &&
            s.compare(s.size() - x.size(), x.size(), x) == 0)
            return value(s.substr(0, s.size() - x.size()));
        return self;
    }
    if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" ||
        name == "isupper" || name == "islower" || name == "isnumeric" || name == "isdecimal") {
        r.finish();
        std::u32string u = utf8_decode(s);
        if (u.empty()) return value(false);
        bool any_cased = false;
        for (char32_t c : u) {
            auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
            bool digit = cat == UTF8PROC_CATEGORY_ND;
            bool alpha = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
            if (name == "isdigit" || name == "isnumeric" || name == "isdecimal") {
                if (!digit) return value(false);
            } else if (name == "isalpha") {
                if (!alpha) return value(false);
            } else if (name == "isalnum") {
                if (!alpha && !digit) return value(false);
            } else if (name == "isspace") {
                if (!is_py_space(c)) return value(false);
            } else if (name == "isupper") {
                if (cat == UTF8PROC_CATEGORY_LL) return value(false);
                any_cased |= cat == UTF8PROC_CATEGORY_LU;
            } else if (name == "islower") {
                if (cat == UTF8PROC_CATEGORY_LU) return value(false);
                any_cased |= cat == UTF8PROC_CATEGORY_LL;
            }
        }
        return value(name == "isupper" || name == "islower" ? any_cased : true);
    }
    if (name == "zfill" || name == "center" || name == "ljust" || name == "rjust") {
        value width = r.get(0, "width");
        value fill = r.get(1, "fillchar", value(" "));
        r.finish();
        std::u32string u = utf8_decode(s);
        std::u32string f = utf8_decode(need_str(fill, "fillchar"));
        if (!width.is_int() || f.size() != 1)
            fail("%s() needs an integer width and a one-character fill", name.c_str());
        auto w = static_cast<std::size_t>(std::max<std::int64_t>(0, width.as_int()));
        if (u.size() >= w) return self;
        std::size_t pad = w - u.size();
        if (name == "zfill") {
            std::size_t sign = !u.empty() && (u[0] == '-' || u[0] == '+') ? 1 : 0;
            u.insert(sign, pad, U'0');
        } else if (name == "ljust") {
            u.append(pad, f[0]);
        } else if (name == "rjust") {
            u.insert(0, pad, f[0]);
        } else {
            std::size_t left = pad / 2 + (pad & w & 1);  // CPython's centering rule
            u.insert(0, left, f[0]);
            u.append(pad - left, f[0]);
        }
        return value(utf8_encode(u));
    }
    if (name == "partition" || name == "rpartition") {
        value sep_arg = r.get(0, "sep");
        const std::string& sep = need_str(sep_arg, "separator");
        r.finish();
        if (sep.empty()) fail("empty separator");
        std::size_t hit = name == "partition" ? s.find(sep) : s.rfind(sep);
        if (hit == std::string::npos)
            return name == "partition" ? value::list({value(s), value(""), value("")}, true)
                                       : value::list({value(""), value(""), value(s)}, true);
        return value::list({value(s.substr(0, hit)), value(sep), value(s.substr(hit + sep.size()))},
                           true);
    }
    return value();
}

bool is_str_method(const std::string& n) {
    static const char* const names[] = {
        "strip",      "lstrip",   "rstrip",  "split",        "rsplit",       "splitlines",
        "startswith", "endswith", "upper",   "lower",        "title",        "capitalize",
        "casefold",   "replace",  "find",    "rfind",        "index",        "rindex",
        "count",      "join",     "format",  "removeprefix", "removesuffix", "isdigit",
        "isalpha",    "isalnum",  "isspace", "isupper",      "islower",      "isnumeric",
        "isdecimal",  "zfill",    "center",  "ljust",        "rjust",        "partition",
        "rpartition"};
    for (const char* x : names)
        if (n == x) return true;
    return false;
}

value dict_method(const value& self, const std::string& name, call_args& args) {
    const dict_t& d = self.as_dict();
    arg_reader r(name.c_str(), args);
    if (name == "get") {
        value key = r.get(0, "key"), fallback = r.get(1, "default", value::none());
        r.finish();
        const value* v = d.find(key);
        return v ? *v : fallback;
    }
    r.finish();
    if (name == "copy") return self;
    std::vector<value> out;
    for (const auto& [k, v] : d.items) {
        if (name == "items")
            out.push_back(value::list({k, v}, true));
        else
            out.push_back(name == "keys" ? k : v);
    }
    return value::list(std::move(out));
}

value list_method(const value& self, const std::string& name, call_args& args) {
    arg_reader r(name.c_str(), args);
    if (name == "copy") {
        r.finish();
        return self;
    }
    value x = r.get(0, "value");
    r.finish();
    const auto& items = self.as_list().items;
    std::int64_t count = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!equals(items[i], x)) continue;
        if (name == "index") return value(static_cast<std::int64_t>(i));
        ++count;
    }
    if (name == "index") fail("%s is not in list", to_repr(x).c_str());
    return value(count);
}

}  // namespace

value get_method(const value& obj, const std::string& name) {
    std::string kind;
    if (obj.is_string() && is_str_method(name))
        kind = "str";
    else if (obj.is_dict() && (name == "get" || name == "items" || name == "keys" ||
                               name == "values" || name == "copy"))
        kind = "dict";
    else if (obj.is_list() &&
             (name == "count" || name == "index" || (name == "copy" && !obj.as_list().tuple)))
        kind = "list";
    if (kind.empty()) return value();
    return value::function(kind + "." + name, [obj, name, kind](renderer&, call_args& args) {
        if (kind == "str") return str_method(obj, name, args);
        if (kind == "dict") return dict_method(obj, name, args);
        return list_method(obj, name, args);
    });
}

}  // namespace actorlm::jinja

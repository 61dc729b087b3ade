// pythonic tool parser (Llama 3.2/4, ToolACE): the output is a Python list of calls,
// `[get_weather(city="Paris"), now()]`, optionally inside <|python_start|>...<|python_end|>.
// Keyword arguments are Python literals (strings, numbers, True/False/None, lists,
// tuples, dicts) and become a JSON object; a call's arguments stream one finished
// keyword at a time. An output that is not such a list is all content.
#include "net/tool_parser.hpp"

namespace actorlm::net {

namespace {

constexpr std::string_view k_python_start = "<|python_start|>";
constexpr int k_max_literal_depth = 64;

enum class py_state { complete, incomplete, invalid };

struct py_scan {
    py_state state;
    size_t end;
};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

size_t skip_py_space(std::string_view t, size_t i) {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r')) ++i;
    return i;
}

void append_json_escaped(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += "\\u00";
            out.push_back(hex[(c >> 4) & 0xF]);
            out.push_back(hex[c & 0xF]);
        } else {
            out.push_back(c);
        }
    }
}

// A quoted Python string at t[i] into `out` as a JSON string.
py_scan read_py_string(std::string_view t, size_t i, std::string& out) {
    const char quote = t[i];
    std::string value;
    for (size_t k = i + 1; k < t.size(); ++k) {
        const char c = t[k];
        if (c == quote) {
            out.push_back('"');
            append_json_escaped(out, value);
            out.push_back('"');
            return {py_state::complete, k + 1};
        }
        if (c == '\n') return {py_state::invalid, k};
        if (c != '\\') {
            value.push_back(c);
            continue;
        }
        if (++k >= t.size()) break;
        switch (t[k]) {
            case 'n': value.push_back('\n'); break;
            case 't': value.push_back('\t'); break;
            case 'r': value.push_back('\r'); break;
            case '\\': value.push_back('\\'); break;
            case '\'': value.push_back('\''); break;
            case '"': value.push_back('"'); break;
            default:  // Python keeps unknown escapes as written
                value.push_back('\\');
                value.push_back(t[k]);
        }
    }
    return {py_state::incomplete, t.size()};
}

py_scan read_py_value(std::string_view t, size_t i, int depth, std::string& out);

// [..] and (..) become JSON arrays, {k: v} a JSON object.
py_scan read_py_container(std::string_view t, size_t i, int depth, std::string& out) {
    const char open = t[i];
    const char close = open == '[' ? ']' : open == '(' ? ')' : '}';
    const bool dict = open == '{';
    out.push_back(dict ? '{' : '[');
    size_t k = skip_py_space(t, i + 1);
    bool first = true;
    while (true) {
        if (k >= t.size()) return {py_state::incomplete, t.size()};
        if (t[k] == close) {
            out.push_back(dict ? '}' : ']');
            return {py_state::complete, k + 1};
        }
        if (!first) {
            if (t[k] != ',') return {py_state::invalid, k};
            k = skip_py_space(t, k + 1);
            if (k >= t.size()) return {py_state::incomplete, t.size()};
            if (t[k] == close) continue;  // a trailing comma
            out += ", ";
        }
        first = false;
        if (dict) {
            if (t[k] != '\'' && t[k] != '"') return {py_state::invalid, k};
            const py_scan key = read_py_string(t, k, out);
            if (key.state != py_state::complete) return key;
            k = skip_py_space(t, key.end);
            if (k >= t.size()) return {py_state::incomplete, t.size()};
            if (t[k] != ':') return {py_state::invalid, k};
            out += ": ";
            ++k;
        }
        const py_scan v = read_py_value(t, k, depth + 1, out);
        if (v.state != py_state::complete) return v;
        k = skip_py_space(t, v.end);
    }
}

py_scan read_py_value(std::string_view t, size_t i, int depth, std::string& out) {
    i = skip_py_space(t, i);
    if (i >= t.size()) return {py_state::incomplete, t.size()};
    if (depth > k_max_literal_depth) return {py_state::invalid, i};
    const char c = t[i];
    if (c == '\'' || c == '"') return read_py_string(t, i, out);
    if (c == '[' || c == '(' || c == '{') return read_py_container(t, i, depth, out);
    size_t k = i;
    while (k < t.size() && (is_ident_char(t[k]) || t[k] == '.' || t[k] == '-' || t[k] == '+')) ++k;
    if (k == t.size()) return {py_state::incomplete, k};  // more digits or letters may follow
    const std::string_view word = t.substr(i, k - i);
    if (word == "True") {
        out += "true";
    } else if (word == "False") {
        out += "false";
    } else if (word == "None") {
        out += "null";
    } else if (!word.empty() && (word[0] == '-' || (word[0] >= '0' && word[0] <= '9')) &&
               word.find_first_not_of("0123456789.-+eE") == std::string_view::npos) {
        out += word;
    } else {
        return {py_state::invalid, i};
    }
    return {py_state::complete, k};
}

// One call `name(k=v, ...)` at t[i]: false when it is not (yet) a call.
struct py_call_scan {
    py_state state = py_state::incomplete;
    size_t end = 0;
    bool named = false;  // name and '(' read
    tool_parse::call call;
};

py_call_scan read_py_call(std::string_view t, size_t i) {
    py_call_scan r;
    r.end = t.size();
    size_t k = i;
    if (k < t.size() && !is_ident_start(t[k])) {
        r.state = py_state::invalid;
        return r;
    }
    while (k < t.size() && (is_ident_char(t[k]) || t[k] == '.')) ++k;
    const size_t name_end = k;
    k = skip_py_space(t, k);
    if (k >= t.size()) return r;
    if (t[k] != '(' || name_end == i) {
        r.state = py_state::invalid;
        return r;
    }
    r.named = true;
    r.call.name = std::string(t.substr(i, name_end - i));
    r.call.arguments = "{";
    k = skip_py_space(t, k + 1);
    bool first = true;
    while (k < t.size()) {
        if (t[k] == ')') {
            r.call.arguments.push_back('}');
            r.state = py_state::complete;
            r.end = k + 1;
            return r;
        }
        if (!first) {
            if (t[k] != ',') break;
            k = skip_py_space(t, k + 1);
            if (k >= t.size()) return r;
            if (t[k] == ')') continue;
        }
        const size_t key_begin = k;
        while (k < t.size() && is_ident_char(t[k])) ++k;
        const size_t key_end = k;
        k = skip_py_space(t, k);
        if (k >= t.size()) return r;
        if (key_end == key_begin || t[k] != '=') break;
        std::string pair = first ? "\"" : ", \"";
        append_json_escaped(pair, t.substr(key_begin, key_end - key_begin));
        pair += "\": ";
        const py_scan v = read_py_value(t, k + 1, 0, pair);
        if (v.state == py_state::incomplete) return r;
        if (v.state == py_state::invalid) break;
        r.call.arguments += pair;  // a keyword joins the arguments once its value is whole
        first = false;
        k = skip_py_space(t, v.end);
    }
    if (k < t.size()) r.state = py_state::invalid;
    return r;
}

class pythonic_tool_parser final : public tool_parser {
public:
    tool_parse read(std::string_view text, bool final) const override {
        tool_parse out;
        size_t i = skip_py_space(text, 0);
        const std::string_view rest = text.substr(i);
        if (rest.starts_with(k_python_start)) {
            i = skip_py_space(text, i + k_python_start.size());
        } else if (!final && k_python_start.starts_with(rest)) {
            return out;
        }
        bool invalid = i < text.size() && text[i] != '[';
        if (!invalid && i < text.size()) {
            size_t k = skip_py_space(text, i + 1);
            while (k < text.size()) {
                py_call_scan call = read_py_call(text, k);
                if (call.named) out.calls.push_back(std::move(call.call));
                if (call.state != py_state::complete) {
                    invalid = call.state == py_state::invalid;
                    break;
                }
                k = skip_py_space(text, call.end);
                if (k >= text.size() || text[k] == ']') break;
                if (text[k] != ',') {
                    invalid = true;
                    break;
                }
                k = skip_py_space(text, k + 1);
            }
        }
        if (out.calls.empty() && (invalid || final)) out.content = std::string(text);
        return out;
    }
};

}  // namespace

std::unique_ptr<tool_parser> make_pythonic_tool_parser() {
    return std::make_unique<pythonic_tool_parser>();
}

}  // namespace actorlm::net

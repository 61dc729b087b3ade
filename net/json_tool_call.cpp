// json_tool_call: JSON call objects and lists of them (see json_tool_call.hpp).
#include "net/json_tool_call.hpp"

#include <optional>

namespace actorlm::net {

using partial_json::scan_state;

bool json_call_from_object(std::string_view text, const partial_json::scanned_object& obj,
                           tool_parse::call& out) {
    const partial_json::object_field* name = obj.find("name");
    if (!name || name->value.state != scan_state::complete) return false;
    auto decoded = partial_json::decode_string(
        text.substr(name->value.begin, name->value.end - name->value.begin));
    if (!decoded || decoded->empty()) return false;
    out.name = std::move(*decoded);
    const partial_json::object_field* args = obj.find("arguments");
    if (!args) args = obj.find("parameters");
    if (args) {
        out.arguments =
            std::string(text.substr(args->value.begin, args->value.end - args->value.begin));
    } else if (obj.state == scan_state::complete) {
        out.arguments = "{}";
    }
    return true;
}

namespace {

// Reads the call object at `i` into `out`: the position after it when it is complete;
// nullopt when the list stops there (`list.invalid` set when the object cannot be a call).
std::optional<size_t> read_call_object(std::string_view text, size_t i, tool_parse& out,
                                       json_call_list& list) {
    const partial_json::scanned_object obj = partial_json::scan_object(text, i);
    tool_parse::call call;
    if (!json_call_from_object(text, obj, call)) {
        list.invalid = obj.state != scan_state::incomplete;
        return std::nullopt;
    }
    out.calls.push_back(std::move(call));
    if (obj.state != scan_state::complete) {
        list.invalid = obj.state == scan_state::invalid;
        return std::nullopt;
    }
    return obj.end;
}

}  // namespace

json_call_list read_json_call_array(std::string_view text, size_t pos, tool_parse& out) {
    json_call_list list;
    size_t i = partial_json::skip_whitespace(text, pos);
    list.end = text.size();
    if (i >= text.size()) return list;
    if (text[i] != '[') {
        list.invalid = true;
        return list;
    }
    i = partial_json::skip_whitespace(text, i + 1);
    if (i < text.size() && text[i] == ']') {
        list.complete = true;
        list.end = i + 1;
        return list;
    }
    while (i < text.size()) {
        const std::optional<size_t> after = read_call_object(text, i, out, list);
        if (!after) return list;
        i = partial_json::skip_whitespace(text, *after);
        if (i >= text.size()) return list;
        if (text[i] == ']') {
            list.complete = true;
            list.end = i + 1;
            return list;
        }
        if (text[i] != ',') {
            list.invalid = true;
            return list;
        }
        i = partial_json::skip_whitespace(text, i + 1);
    }
    return list;
}

json_call_list read_json_call_sequence(std::string_view text, size_t pos, char separator,
                                       bool final, tool_parse& out) {
    json_call_list list;
    list.end = text.size();
    size_t i = pos;
    while (true) {
        const std::optional<size_t> after = read_call_object(text, i, out, list);
        if (!after) return list;
        const size_t next = partial_json::skip_whitespace(text, *after);
        if (next < text.size() && text[next] == separator) {
            i = next + 1;
            continue;
        }
        list.complete = next < text.size() || final;
        list.end = *after;
        return list;
    }
}

}  // namespace actorlm::net

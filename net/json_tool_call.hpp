// json_tool_call: the call shape most tool formats share, a JSON object
// {"name": "...", "arguments"|"parameters": {...}}, read from a partial_json scan, and
// lists of such objects (a JSON array, or objects separated by ';'). Used by the
// hermes, llama3_json, mistral and tool_choice=required parsers. Pure functions.
#pragma once

#include <string_view>

#include "net/partial_json.hpp"
#include "net/tool_parser.hpp"

namespace actorlm::net {

/// The call in `obj` (scanned from `text`) once its name is complete; false before.
/// Arguments are the raw text of the "arguments" (or "parameters") value as far as it
/// goes, or "{}" for a complete object that has neither.
bool json_call_from_object(std::string_view text, const partial_json::scanned_object& obj,
                           tool_parse::call& out);

/// How a list of call objects was read.
struct json_call_list {
    bool complete = false;  // the list's end was read (']' for an array)
    bool invalid = false;   // text that is not a call list
    size_t end = 0;         // one past what was read
};

/// A JSON array of call objects at `pos` (after whitespace), calls appended to `out`.
json_call_list read_json_call_array(std::string_view text, size_t pos, tool_parse& out);

/// Call objects at `pos` separated by `separator` (Llama 3's ';'); complete after an
/// object with no separator following it (at the end of the text only when `final`).
json_call_list read_json_call_sequence(std::string_view text, size_t pos, char separator,
                                       bool final, tool_parse& out);

}  // namespace actorlm::net

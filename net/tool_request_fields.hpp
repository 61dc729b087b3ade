// tool_request_fields: a chat request's `tools`, `tool_choice` and
// `parallel_tool_calls`, checked with vLLM's rules and wording, and the structured
// output that forces a call for tool_choice "required" or a named function (vLLM
// builds the same constraint): named -> the function's `parameters` schema; required ->
// forced_tool_schema. Whether the server may parse calls itself ("auto") depends on its
// flags and is the router's check. Stateless.
#pragma once

#include <string>

#include "net/json_fields.hpp"
#include "net/openai_protocol.hpp"
#include "net/request_fields.hpp"

namespace actorlm::net {

/// One tool of `tools`: {"type": "function", "function": {"name", "description"?,
/// "parameters"?}}.
struct tool_definition {
    std::string name;
    std::string parameters_json;  // the JSON schema as sent; empty when absent
};

/// Checks `tools` (a JSON array) and reads each definition.
json::maybe_error read_tools(json::element v, std::vector<tool_definition>& out);

/// Reads `tool_choice`: "none", "auto", "required" or {"type": "function",
/// "function": {"name"}}.
json::maybe_error read_tool_choice(json::element v, chat_tool_options& out);

/// Applies vLLM's rules once the body is read (tool_choice needs tools; a named function
/// must be one of them; "auto" when tools come without a tool_choice; "required" with
/// an empty list means none) and sets f.params.structured_output for required / named.
json::maybe_error resolve_tool_choice(bool tools_sent, const std::vector<tool_definition>& tools,
                                      common_fields& f, chat_tool_options& out);

/// The JSON schema tool_choice "required" forces into `schema`: an array of at least one
/// (exactly one when `parallel` is false) {"name": <one of the tools>, "parameters": <its
/// schema>} objects, name first. Each tool's `$defs` / `definitions` move to the array
/// schema's root, where its "#/$defs/X" references now point (vLLM's
/// get_tool_schema_defs); two tools defining one name differently is a 400 naming it.
json::maybe_error forced_tool_schema(const std::vector<tool_definition>& tools, bool parallel,
                                     std::string& schema);

}  // namespace actorlm::net

// tool_parser: the interface of the tool-call parsers (vLLM's --tool-call-parser): each
// reads a model's whole output so far and says which part is plain content and which
// tool calls it holds. Streaming works by re-reading the growing text and sending what
// is new (tool_call_stream), so every parser must be monotone: for a text t and any
// extension t', read(t) content is a prefix of read(t') content, its calls are a prefix
// of the later calls, and each call's name is final and its arguments a prefix of the
// later arguments. Half-read markers therefore stay out of content until resolved.
// Parsers are immutable and stateless: read() is safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace actorlm::net {

/// What an output holds, as far as it can be told yet.
struct tool_parse {
    std::string content;  // plain text for the message's content
    struct call {
        std::string name;
        std::string arguments;  // JSON text (a prefix of it while the call is incomplete)
    };
    std::vector<call> calls;
};

class tool_parser {
public:
    virtual ~tool_parser() = default;
    /// Reads `text`, the output so far; `final`: no more text follows (partial markers
    /// are then plain content, and unparsable call text falls back to content as vLLM's
    /// non-streaming parsers do).
    virtual tool_parse read(std::string_view text, bool final) const = 0;
    /// A fresh id for a call (OpenAI's "call id"); Mistral's templates require 9
    /// alphanumerics, the others take vLLM's "chatcmpl-tool-<32 hex>".
    virtual std::string make_call_id() const;
};

/// The parsers --tool-call-parser names: hermes, llama3_json, mistral, pythonic.
std::unique_ptr<tool_parser> make_tool_parser(std::string_view name);
/// The names make_tool_parser knows, for help texts and errors.
const std::vector<std::string>& tool_parser_names();

std::unique_ptr<tool_parser> make_hermes_tool_parser();
std::unique_ptr<tool_parser> make_llama3_json_tool_parser();
std::unique_ptr<tool_parser> make_mistral_tool_parser();
std::unique_ptr<tool_parser> make_pythonic_tool_parser();

/// tool_choice "required" and a named function, whose output the structured-output
/// engine forces: `required` reads the JSON array `[{"name", "parameters"}, ...]`
/// (forced_tool_schema's shape); `named` reads the output as the named function's
/// arguments.
std::unique_ptr<tool_parser> make_required_tool_parser();
std::unique_ptr<tool_parser> make_named_tool_parser(std::string function_name);

/// The text a partial-marker check holds back: the longest suffix of `text` that is a
/// proper prefix of `marker` (so "...<tool_c" keeps "<tool_c" out of content).
size_t partial_marker_length(std::string_view text, std::string_view marker);

}  // namespace actorlm::net

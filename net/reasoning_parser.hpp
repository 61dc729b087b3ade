// reasoning_parser: the interface of the reasoning parsers (vLLM's --reasoning-parser):
// each splits a model's output so far into its reasoning (the text of a <think> block)
// and the content after it. Like the tool parsers they re-read the growing text, so
// they must be monotone: for a text t and any extension t', read(t)'s reasoning and
// content are prefixes of read(t')'s. Immutable; read() is safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace actorlm::net {

struct reasoning_parse {
    std::string reasoning;
    std::string content;
};

class reasoning_parser {
public:
    virtual ~reasoning_parser() = default;
    /// Splits `text`, the output so far; `final`: no more text follows.
    virtual reasoning_parse read(std::string_view text, bool final) const = 0;
    /// The texts that open and close the reasoning ("<think>", "</think>"): the engine
    /// constrains a structured output from after the close (structured_output_params).
    virtual std::string_view start_marker() const = 0;
    virtual std::string_view end_marker() const = 0;
};

/// The parsers --reasoning-parser names: qwen3, deepseek_r1.
std::unique_ptr<reasoning_parser> make_reasoning_parser(std::string_view name);
const std::vector<std::string>& reasoning_parser_names();

}  // namespace actorlm::net

// OpenAI request parsing: turns /v1/completions and /v1/chat/completions bodies
// into actorlm::generate_request values, validating every field with the checks
// and wording OpenAI/vLLM clients expect. Pure functions (no engine, no I/O),
// safe from any thread; arbitrary bytes never crash them (see tests/fuzz).
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/api_error.hpp"

namespace actorlm::net {

/// Upper bound of `n`: each choice is a sequence in the engine.
inline constexpr int32_t k_max_n = 128;

enum class endpoint_kind { completion, chat };

/// The tool-calling fields of a chat request (OpenAI's tools, tool_choice,
/// parallel_tool_calls) and vLLM's include_reasoning.
struct chat_tool_options {
    enum class choice : uint8_t { none, automatic, required, named };
    choice tool_choice = choice::none;  // vLLM's default: "auto" when tools are sent
    bool tool_choice_sent = false;      // the body named one (else it is the default)
    std::string function_name;          // choice::named: the forced function
    std::vector<std::string> function_names;  // the tools' names, in order
    bool parallel_tool_calls = true;          // false: at most one call per choice
    bool include_reasoning = true;            // false: reasoning is parsed out and dropped
};

/// A parsed generation request. For completions every prompt of a list is its own
/// engine request (choice index = prompt index * n + sequence index); chat has one.
struct openai_request {
    endpoint_kind kind = endpoint_kind::completion;
    std::string model;                      // empty: the served model
    std::vector<generate_request> prompts;  // params, priority, cache_salt filled in each
    bool stream = false;
    bool include_usage = false;   // stream_options.include_usage
    bool max_tokens_set = false;  // max_tokens / max_completion_tokens was sent
    bool echo = false;            // completions: prepend the prompt to the text
    bool want_logprobs = false;   // completions: logprobs set; chat: logprobs true
    int32_t top_logprobs = 0;     // alternatives per position in the response
    std::string user;
    chat_tool_options tools;  // chat only
};

/// Parses a /v1/completions body. On failure returns the 400 error naming the field.
std::optional<api_error> parse_completion_request(std::string_view body, openai_request& out);
/// Parses a /v1/chat/completions body.
std::optional<api_error> parse_chat_request(std::string_view body, openai_request& out);

/// vLLM's /tokenize body: {model?, prompt | messages, tools?, add_special_tokens?,
/// add_generation_prompt?}, read into the generate_request whose prompt it measures
/// (add_special_tokens unset: true for a prompt, false for messages, as in vLLM).
struct tokenize_request {
    std::string model;
    generate_request prompt;
};
std::optional<api_error> parse_tokenize_request(std::string_view body, tokenize_request& out);

/// vLLM's /detokenize body: {model?, tokens: [int]}.
struct detokenize_request {
    std::string model;
    std::vector<int32_t> tokens;
};
std::optional<api_error> parse_detokenize_request(std::string_view body, detokenize_request& out);

}  // namespace actorlm::net

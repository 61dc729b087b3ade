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

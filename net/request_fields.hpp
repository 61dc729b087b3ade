// The request fields /v1/completions and /v1/chat/completions share (sampling,
// stopping, streaming, scheduling) and their validation ranges, and the prompt inputs
// completions and embeddings share. Internal to the
// OpenAI parsers; stateless functions, safe from any thread.
#pragma once

#include <actorlm/engine.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/json_fields.hpp"

namespace actorlm::net {

/// Shared fields as read from a body, before per-endpoint defaults.
struct common_fields {
    sampling_params params;
    bool max_tokens_set = false;
    std::optional<bool> add_special_tokens;  // unset: the endpoint's default
    std::string model;
    std::string user;
    std::string cache_salt;
    int32_t priority = 0;
    bool stream = false;
    bool stream_options_set = false;
    bool include_usage = false;
    // The key that set params.structured_output (response_format, guided_json, ...),
    // under which its errors are reported.
    std::string structured_output_field;
};

/// Reads `value` into `f` when `key` is a shared field. Returns false for other keys
/// (the caller handles or ignores them); on a bad value sets `err`.
bool read_common_field(std::string_view key, json::element value, common_fields& f,
                       json::maybe_error& err);

/// Range checks across the shared fields (temperature >= 0, top_p in (0, 1], ...).
json::maybe_error validate_common(const common_fields& f);

struct openai_request;
/// Validates `f` and copies it into every prompt of `out` (params, priority, salt).
json::maybe_error finish_generation_request(const common_fields& f, openai_request& out);

/// Completions' `prompt` and embeddings' `input` (field `name`): a string, a list of
/// strings, a list of token ids or a list of such lists; one request per prompt, in order.
json::maybe_error read_prompt_inputs(json::element v, std::string_view name,
                                     std::vector<generate_request>& prompts);

/// Parses an OpenAI `messages` array (roles; content as a string, null or text parts).
json::maybe_error parse_chat_messages(json::element v, std::vector<chat_message>& out);

/// The calling thread's simdjson parser (buffers reused between requests).
simdjson::dom::parser& thread_parser();

}  // namespace actorlm::net

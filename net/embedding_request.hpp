// embedding_request: the /v1/embeddings body (OpenAI's fields, vLLM's extras) read into
// one pooling engine request per input. Stateless; safe from any thread.
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/api_error.hpp"

namespace actorlm::net {

/// How the vectors are written: a JSON array of numbers, or OpenAI's base64 of the
/// little-endian float32 bytes.
enum class embedding_encoding { float_array, base64 };

struct embedding_request {
    std::string model;  // empty: the served model
    // One per input, in order: prompt or prompt_token_ids set, params.pooling set (LAST,
    // normalized: the decoder embedding models' pooling); the router replaces it by the
    // model's declared pooling (model_info::default_pooling) where there is one.
    std::vector<generate_request> inputs;
    embedding_encoding encoding = embedding_encoding::float_array;
    // Matryoshka truncation: keep the first `dimensions` values, then renormalize.
    // Checked against the model's hidden size by the router; unset: all of them.
    std::optional<int32_t> dimensions;
    // vLLM's truncate_prompt_tokens: keep the last N tokens of each tokenized input; -1
    // means the model's max_model_len. Resolved and checked by resolve_truncation().
    std::optional<int32_t> truncate_prompt_tokens;
};

/// Parses a /v1/embeddings body: model, input (a string, a list of strings, a list of
/// token ids or a list of such lists), encoding_format ("float" or "base64"),
/// dimensions (>= 1), truncate_prompt_tokens (-1 or >= 1), add_special_tokens (default
/// true, as vLLM), user (ignored). On failure returns the 400 error naming the field.
std::optional<api_error> parse_embedding_request(std::string_view body, embedding_request& out);

/// The number of tokens truncate_prompt_tokens keeps with a context of `max_model_len`:
/// unset stays unset, -1 becomes max_model_len. A value above max_model_len is the 400
/// vLLM answers, naming truncate_prompt_tokens. max_model_len <= 0 means unknown: only
/// -1 is then refused, since it has no length to stand for.
std::optional<api_error> resolve_truncation(embedding_request& req, int32_t max_model_len);

/// Keeps the last `num_tokens` of `req.prompt_token_ids` (vLLM's left truncation, which
/// embedding models want: the last token carries the pooled state); shorter prompts stay.
/// A cut prompt drops req.prepared, so the engine runs the kept ids.
void truncate_prompt(generate_request& req, int32_t num_tokens);

}  // namespace actorlm::net

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
};

/// Parses a /v1/embeddings body: model, input (a string, a list of strings, a list of
/// token ids or a list of such lists), encoding_format ("float" or "base64"),
/// dimensions (>= 1), add_special_tokens (default true, as vLLM), user (ignored).
/// On failure returns the 400 error naming the field.
std::optional<api_error> parse_embedding_request(std::string_view body, embedding_request& out);

}  // namespace actorlm::net

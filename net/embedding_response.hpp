// embedding_response: the /v1/embeddings answer (OpenAI's shape):
// {"id","object":"list","created","model","data":[{"object":"embedding","index",
// "embedding"}],"usage":{"prompt_tokens","total_tokens"}}, and the Matryoshka
// truncation applied to each vector before it is written. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/embedding_request.hpp"

namespace actorlm::net {

/// vLLM's Matryoshka `dimensions`: the first `dimensions` values, divided by their L2
/// norm (a zero vector stays zero). `dimensions` >= the size keeps the vector as is.
std::vector<float> truncate_embedding(std::vector<float> v, int32_t dimensions);

/// OpenAI's base64 form: the vector's little-endian float32 bytes, base64-encoded.
std::string embedding_base64(const std::vector<float>& v);

/// What one response holds: the vectors by input index and the prompts' token count.
struct embedding_response {
    std::string id;
    int64_t created = 0;
    std::string model;
    std::vector<std::vector<float>> embeddings;
    int64_t prompt_tokens = 0;
};

/// The response body, vectors written as numbers or base64 per `encoding`.
std::string write_embedding_response(const embedding_response& r, embedding_encoding encoding);

}  // namespace actorlm::net

// base64: the standard alphabet, padded (RFC 4648 §4), for bytes the server writes
// into JSON (OpenAI's base64 embeddings). Decoding lives with its one reader,
// media_url's data: URLs. Pure function; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace actorlm::net {

std::string base64_encode(std::string_view bytes);

}  // namespace actorlm::net

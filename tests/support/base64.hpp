// Base64 (standard alphabet, padded) of test bytes, for data: URLs in requests: the
// server's own encoder, so the tests and the server cannot disagree on it.
#pragma once

#include <string>
#include <string_view>

#include "net/base64.hpp"

namespace actorlm::test {

inline std::string base64(std::string_view bytes) { return net::base64_encode(bytes); }

}  // namespace actorlm::test

// percent_decode: %XX escapes of a URL path or path segment (RFC 3986); a malformed
// escape stays as written. Used for request paths and file:// URLs. Pure function.
#pragma once

#include <string>
#include <string_view>

namespace actorlm::net {

std::string percent_decode(std::string_view s);

}  // namespace actorlm::net

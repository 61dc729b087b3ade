// media_url: what an image URL of a chat request is (data:, http(s)://, file://), how
// error messages quote it, and the payload of a base64 data: URL. Pure string work, so
// the request parser (and its fuzzer) use it without the Beast client of media_fetch.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace actorlm::net {

enum class media_url_kind { data, http, file, unsupported };

/// What the scheme says ("data:", "http://", "https://", "file://"; case-insensitive).
media_url_kind classify_media_url(std::string_view url);

/// True when `s` starts with the lower-case `prefix`, ignoring the case of `s`.
bool starts_with_nocase(std::string_view s, std::string_view prefix);

/// The URL as error messages quote it: data: URLs cut after their header.
std::string describe_media_url(std::string_view url);

/// The payload of "data:<type>;base64,<data>". `type_prefix` ("image/") must start the
/// media type. Whitespace in the payload is skipped; padding is optional.
result<std::string> decode_data_url(std::string_view url, std::string_view type_prefix);

}  // namespace actorlm::net

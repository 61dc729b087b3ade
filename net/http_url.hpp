// http_url: an http(s):// URL split into what a Beast client connects to (scheme, host,
// port, request target), and a redirect's Location resolved against the URL it came
// from. Pure string work, shared by the image fetcher (media_fetch) and the Hugging Face
// Hub client (hub/http_download), so both follow redirects the same way.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace actorlm::net {

struct http_url {
    bool https = false;
    std::string host;    ///< without brackets for IPv6
    std::string port;    ///< "80" / "443" when the URL names none
    std::string target;  ///< path and query, at least "/"; the fragment dropped
};

/// Splits an http:// or https:// URL (case-insensitive scheme). URLs with credentials
/// (user@host) are refused. Errors name the URL.
result<http_url> parse_http_url(std::string_view url);

/// A Location header resolved against `base`: absolute, scheme-relative ("//host/x"),
/// absolute-path ("/x") or relative ("x", replacing the last path segment).
std::string resolve_location(const http_url& base, std::string_view location);

/// "scheme://host:port" of `u` (IPv6 hosts in brackets), for messages and redirects.
std::string url_origin(const http_url& u);

}  // namespace actorlm::net

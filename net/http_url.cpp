// http_url implementation: hand-split, since the only inputs are URLs the caller was
// given or a server's Location header, and both are refused with a message when odd.
#include "net/http_url.hpp"

#include <algorithm>

namespace actorlm::net {

namespace {

error malformed_url(const std::string& message) {
    return error{message, error_kind::invalid_argument};
}

bool starts_with_ignoring_case(std::string_view s, std::string_view lower_prefix) {
    if (s.size() < lower_prefix.size()) return false;
    for (size_t i = 0; i < lower_prefix.size(); ++i) {
        const char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
        if (c != lower_prefix[i]) return false;
    }
    return true;
}

std::string quoted_url(std::string_view url) {
    if (url.size() > 200) return std::string(url.substr(0, 200)) + "...";
    return std::string(url);
}

}  // namespace

result<http_url> parse_http_url(std::string_view url) {
    http_url u;
    std::string_view rest;
    if (starts_with_ignoring_case(url, "https://")) {
        u.https = true;
        rest = url.substr(8);
    } else if (starts_with_ignoring_case(url, "http://")) {
        rest = url.substr(7);
    } else {
        return malformed_url("not an http(s) URL: " + quoted_url(url));
    }
    const size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    std::string_view path = end == std::string_view::npos ? "" : rest.substr(end);
    if (const size_t hash = path.find('#'); hash != std::string_view::npos)
        path = path.substr(0, hash);
    if (authority.find('@') != std::string_view::npos)
        return malformed_url("URLs with credentials are not fetched: " + quoted_url(url));
    if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
        const size_t close = authority.find(']');
        if (close == std::string_view::npos) return malformed_url("malformed URL host: " + quoted_url(url));
        u.host = std::string(authority.substr(1, close - 1));
        authority = authority.substr(close + 1);
        if (!authority.empty() && authority.front() != ':')
            return malformed_url("malformed URL host: " + quoted_url(url));
        if (!authority.empty()) u.port = std::string(authority.substr(1));
    } else {
        const size_t colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) u.port = std::string(authority.substr(colon + 1));
    }
    if (u.host.empty()) return malformed_url("URL has no host: " + quoted_url(url));
    if (u.port.empty()) u.port = u.https ? "443" : "80";
    if (!std::all_of(u.port.begin(), u.port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return malformed_url("malformed URL port: " + quoted_url(url));
    u.target = path.empty() ? "/" : std::string(path);
    if (u.target.front() == '?') u.target.insert(0, "/");
    return u;
}

std::string url_origin(const http_url& u) {
    return std::string(u.https ? "https://" : "http://") +
           (u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host) + ":" + u.port;
}

std::string resolve_location(const http_url& base, std::string_view location) {
    const size_t colon = location.find(':');
    const size_t slash = location.find('/');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash))
        return std::string(location);  // has a scheme
    if (location.rfind("//", 0) == 0)
        return std::string(base.https ? "https:" : "http:") + std::string(location);
    if (!location.empty() && location.front() == '/') return url_origin(base) + std::string(location);
    const std::string dir = base.target.substr(0, base.target.rfind('/') + 1);
    return url_origin(base) + dir + std::string(location);
}

}  // namespace actorlm::net

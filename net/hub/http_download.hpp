// http_download: one blocking HTTP(S) GET for the Hugging Face Hub client, following
// redirects (the Hub sends LFS files to a CDN), with a Bearer token that is only sent to
// the host it was given for, an optional Range start for resuming, and timeouts on every
// step (name resolution, connect, TLS handshake, each read), so a silent server costs at
// most a timeout, never a hang. A 2xx body streams to a callback; any other status comes
// back as a response (its body kept, short) for the caller to explain. Blocks its caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace actorlm::net::hub {

struct http_get_request {
    std::string url;
    /// Sent as "Authorization: Bearer ..." to the first URL's host only (a redirect to
    /// another host, e.g. the CDN, gets none: its signed URL is the credential).
    std::string bearer_token;
    /// > 0: asks for the bytes from this offset on ("Range: bytes=N-").
    uint64_t range_start = 0;
    std::chrono::milliseconds connect_timeout{15000};  ///< resolution + connect + TLS, per hop
    std::chrono::milliseconds read_timeout{60000};     ///< longest silence while reading
    int max_redirects = 10;
};

struct http_get_response {
    unsigned status = 0;
    std::string reason;
    /// Header names in lower case; the last value of a repeated header.
    std::map<std::string, std::string> headers;
    /// The URL that answered (after redirects).
    std::string final_url;
    /// Bytes of a 2xx body handed to the callback.
    uint64_t body_bytes = 0;
    /// The body of a non-2xx answer (its first 64 KiB), for error messages.
    std::string error_body;

    /// The header's value, or "" (name in lower case).
    std::string header(const std::string& name) const;
};

/// Receives a 2xx body piece by piece, with the answer's status and headers (a 206
/// continues a range, a 200 is the whole body); an error stops the download.
using body_sink = std::function<status(const http_get_response& head, std::string_view bytes)>;

/// GETs request.url. Transport failures (no connection, a timeout, TLS, the connection
/// closed before the body's end) are errors naming the URL; an HTTP status is a response.
/// After a failure mid-body, the sink has received the bytes that arrived.
result<http_get_response> http_get(const http_get_request& request, const body_sink& on_body);

/// GETs a small text (JSON): a 2xx body up to max_bytes into `body`.
result<http_get_response> http_get_text(const http_get_request& request, std::string* body,
                                        size_t max_bytes = size_t{64} << 20);

}  // namespace actorlm::net::hub

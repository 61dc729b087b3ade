// api_error: an OpenAI-shaped error ({"error": {message, type, param, code}}) with
// the HTTP status it is sent under. Every failure the server reports to a client
// goes through here so that all error bodies share one shape.
#pragma once

#include <cstdint>
#include <string>

namespace actorlm::net {

class response_sink;

/// One client-visible error. `param` and `code` are JSON null when empty.
struct api_error {
    int http_status = 400;
    std::string message;
    std::string type = "invalid_request_error";
    std::string param;
    std::string code;
    int32_t retry_after_s = 0;  ///< > 0: sent as `Retry-After` (429 and 503: try again later)

    /// {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
    std::string to_json() const;
    /// The header lines it is sent with besides the framing: "Retry-After: N\r\n" or "".
    std::string extra_headers() const;
};

/// Sends `err` as a complete response: its status, its JSON, its Retry-After.
void send_error(response_sink& sink, const api_error& err);

/// 400 invalid_request_error naming the offending field.
api_error invalid_request(std::string message, std::string param = {},
                          std::string code = "invalid_value");
/// 404 model_not_found, worded as OpenAI words it.
api_error model_not_found(const std::string& model);
/// 401 invalid_api_key.
api_error invalid_api_key();
/// 404 for an unknown path, 405 for a known path with the wrong method.
api_error route_not_found(const std::string& method, const std::string& path);
api_error method_not_allowed(const std::string& method, const std::string& path);
/// 413 when the body exceeds the server's limit.
api_error body_too_large(size_t limit_bytes);
/// 500 server_error (an engine failure the client did not cause).
api_error internal_error(std::string message);
/// 429 when the engine has no capacity for the request now (vLLM's and OpenAI's
/// rate-limit shape: type "rate_limit_error"), with Retry-After: 1.
api_error too_many_requests(std::string message);
/// 503 while the engine is unhealthy, the server is shutting down or holds as many
/// requests or connections as it is allowed, with Retry-After: 1.
api_error service_unavailable(std::string message);

}  // namespace actorlm::net

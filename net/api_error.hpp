// api_error: an OpenAI-shaped error ({"error": {message, type, param, code}}) with
// the HTTP status it is sent under. Every failure the server reports to a client
// goes through here so that all error bodies share one shape.
#pragma once

#include <string>

namespace actorlm::net {

/// One client-visible error. `param` and `code` are JSON null when empty.
struct api_error {
    int http_status = 400;
    std::string message;
    std::string type = "invalid_request_error";
    std::string param;
    std::string code;

    /// {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
    std::string to_json() const;
};

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
/// rate-limit shape: type "rate_limit_error").
api_error too_many_requests(std::string message);
/// 503 while the engine is unhealthy or the server is shutting down.
api_error service_unavailable(std::string message);

}  // namespace actorlm::net

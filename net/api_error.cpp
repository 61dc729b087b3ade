// api_error: construction helpers and serialization of OpenAI error objects.
#include "net/api_error.hpp"

#include "net/json_writer.hpp"
#include "net/response_sink.hpp"

namespace actorlm::net {

std::string api_error::to_json() const {
    json_writer w;
    w.begin_object().key("error").begin_object();
    w.field("message", message).field("type", type);
    w.key("param");
    if (param.empty())
        w.null();
    else
        w.value(param);
    w.key("code");
    if (code.empty())
        w.null();
    else
        w.value(code);
    w.end_object().end_object();
    return w.take();
}

api_error invalid_request(std::string message, std::string param, std::string code) {
    return api_error{400, std::move(message), "invalid_request_error", std::move(param),
                     std::move(code)};
}

api_error model_not_found(const std::string& model) {
    return api_error{404, "The model `" + model + "` does not exist.", "invalid_request_error",
                     "model", "model_not_found"};
}

api_error invalid_api_key() {
    return api_error{401, "Incorrect or missing API key: send 'Authorization: Bearer <key>'.",
                     "invalid_request_error", "", "invalid_api_key"};
}

api_error route_not_found(const std::string& method, const std::string& path) {
    return api_error{404, "Not found: " + method + " " + path, "invalid_request_error", "",
                     "not_found"};
}

api_error method_not_allowed(const std::string& method, const std::string& path) {
    return api_error{405, "Method " + method + " is not allowed on " + path,
                     "invalid_request_error", "", "method_not_allowed"};
}

api_error body_too_large(size_t limit_bytes) {
    return api_error{
        413,
        "Request body exceeds the server's limit of " + std::to_string(limit_bytes) + " bytes.",
        "invalid_request_error", "", "request_too_large"};
}

api_error internal_error(std::string message) {
    return api_error{500, std::move(message), "server_error", "", "internal_error"};
}

api_error too_many_requests(std::string message) {
    return api_error{429, std::move(message), "rate_limit_error", "", "rate_limit_exceeded", 1};
}

api_error service_unavailable(std::string message) {
    return api_error{503, std::move(message), "server_error", "", "service_unavailable", 1};
}

std::string api_error::extra_headers() const {
    return retry_after_s > 0 ? "Retry-After: " + std::to_string(retry_after_s) + "\r\n"
                             : std::string();
}

void send_error(response_sink& sink, const api_error& err) {
    sink.send(err.http_status, "application/json", err.to_json(), err.extra_headers());
}

}  // namespace actorlm::net

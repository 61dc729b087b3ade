// request_handler: what an HTTP server hands each parsed request to. The api_router is
// the one that answers the API; the startup_gate stands in front of it while the
// engine loads. Called on the connection's strand; implementations are thread-safe.
#pragma once

#include <memory>
#include <string>

#include "net/response_sink.hpp"

namespace actorlm::net {

/// The parts of an HTTP request the endpoints look at.
struct http_request {
    std::string method;         // "GET", "POST", ...
    std::string target;         // path plus optional query
    std::string authorization;  // the Authorization header, or empty
    std::string body;
};

class request_handler {
public:
    virtual ~request_handler() = default;
    /// Handles `req`; the answer (possibly streamed later) goes to `sink`.
    virtual void handle(const http_request& req, const std::shared_ptr<response_sink>& sink) = 0;
};

}  // namespace actorlm::net

// http_client: a small blocking HTTP/1.1 client (Boost.Beast) for tests, smoke
// checks and tools: one keep-alive connection, whole responses or streamed
// bodies delivered piecewise as they arrive. One client per thread; not
// thread-safe. Errors (refused, reset, timeout) come back as result errors.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace actorlm::net {

struct client_response {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

class http_client {
public:
    /// Connects lazily on the first request; `timeout_s` bounds each request.
    http_client(std::string host, uint16_t port, int32_t timeout_s = 60);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    /// Sends one request and reads the whole response. `headers`: extra "Name: value" pairs.
    result<client_response> request(std::string_view method, std::string_view target,
                                    std::string_view body = {},
                                    const std::map<std::string, std::string>& headers = {});

    /// Like request(), but hands body bytes to `on_body` as they arrive; returning false from
    /// it closes the connection mid-response (a client hanging up). The returned response has
    /// status and headers and an empty body.
    result<client_response> stream(std::string_view method, std::string_view target,
                                   std::string_view body,
                                   const std::function<bool(std::string_view)>& on_body,
                                   const std::map<std::string, std::string>& headers = {});

    /// Sends one request and closes the connection without reading anything: a client
    /// that gives up before the answer (the server must abort the request, not leak it).
    status send_and_close(std::string_view method, std::string_view target,
                          std::string_view body,
                          const std::map<std::string, std::string>& headers = {});

    /// Drops the connection (the next request reconnects).
    void disconnect();

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace actorlm::net

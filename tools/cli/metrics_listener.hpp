// metrics_listener: a minimal HTTP/1.1 endpoint that answers GET /metrics with
// Prometheus text from a callback, for processes that have no API server
// (`actorlm kv-store`). One I/O thread of its own; one request per connection;
// anything but GET /metrics gets 404. The callback runs on that thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"

namespace actorlm::cli {

class metrics_listener {
public:
    /// Binds HOST:PORT (port 0: any free port) and starts serving.
    static result<std::unique_ptr<metrics_listener>> start(const std::string& host, uint16_t port,
                                                           std::function<std::string()> render);
    /// Stops the thread; connections in progress are closed.
    ~metrics_listener();
    metrics_listener(const metrics_listener&) = delete;
    metrics_listener& operator=(const metrics_listener&) = delete;

    uint16_t port() const;

    struct impl;

private:
    explicit metrics_listener(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace actorlm::cli

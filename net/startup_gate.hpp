// startup_gate: the server's handler while the engine loads. A large model takes
// minutes to read; the port is open from the start so that a load balancer or
// orchestrator sees the server (as vLLM's and llama-server's do) and learns from
// /health that it is not ready yet. Until open(): the web chat page's files are served
// (when enabled; the page shows the load's progress and connects once it ends, as
// llama-server's does), every other path gets 503 with Retry-After and a message saying
// how far the load has come; after: every request goes to the handler given to open().
// The gate never closes again.
#pragma once

#include <actorlm/engine.hpp>

#include <atomic>
#include <memory>
#include <mutex>

#include "net/request_handler.hpp"

namespace actorlm::net {

class startup_gate final : public request_handler {
public:
    /// `serve_webui`: answer the web page's paths while loading (off with --no-webui).
    explicit startup_gate(bool serve_webui = true) : serve_webui_(serve_webui) {}

    void handle(const http_request& req, const std::shared_ptr<response_sink>& sink) override;

    /// The latest progress of the load, quoted in the 503's message. Thread-safe.
    void report(const load_progress& progress);
    /// From now on `ready` answers every request; it must outlive the server.
    /// Thread-safe; requests already answered with 503 stay answered.
    void open(request_handler& ready);

private:
    const bool serve_webui_;
    std::atomic<request_handler*> ready_{nullptr};
    mutable std::mutex mutex_;
    load_progress progress_;  // guarded by mutex_
};

/// "Loading model (42%: 120.0 of 286.1 MiB)", or "Loading model" before any progress.
std::string describe_loading(const load_progress& progress);

}  // namespace actorlm::net

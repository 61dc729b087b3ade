// startup_gate implementation.
#include "net/startup_gate.hpp"

#include <cstdio>

#include "net/api_error.hpp"
#include "net/webui_assets.hpp"

namespace actorlm::net {

void startup_gate::handle(const http_request& req, const std::shared_ptr<response_sink>& sink) {
    if (request_handler* ready = ready_.load(std::memory_order_acquire))
        return ready->handle(req, sink);
    if (serve_webui_ && req.method == "GET" &&
        send_webui_asset(std::string_view(req.target).substr(0, req.target.find('?')), *sink))
        return;
    load_progress progress;
    {
        std::lock_guard lock(mutex_);
        progress = progress_;
    }
    // llama-server's wording and vLLM's status: a client that polls /health waits for 200.
    send_error(*sink, service_unavailable(describe_loading(progress)));
}

void startup_gate::report(const load_progress& progress) {
    std::lock_guard lock(mutex_);
    progress_ = progress;
}

void startup_gate::open(request_handler& ready) { ready_.store(&ready, std::memory_order_release); }

std::string describe_loading(const load_progress& progress) {
    if (progress.bytes_total <= 0) return "Loading model";
    constexpr double mib = 1024.0 * 1024.0;
    char text[96];
    std::snprintf(text, sizeof(text), "Loading model (%d%%: %.1f of %.1f MiB)",
                  static_cast<int>(100 * progress.bytes_done / progress.bytes_total),
                  static_cast<double>(progress.bytes_done) / mib,
                  static_cast<double>(progress.bytes_total) / mib);
    return text;
}

}  // namespace actorlm::net

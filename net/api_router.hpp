// api_router: maps one HTTP request to its endpoint (OpenAI /v1/*, vLLM's
// /tokenize, /detokenize, /health, /version, /metrics), checks the API key and
// the model name, and answers through a response_sink. Generation requests are
// tokenized and checked against the context here, then become a generation_job.
// Called on the connection's strand; the router itself is immutable after
// construction and shared by all connections.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/inference_backend.hpp"
#include "net/json_writer.hpp"
#include "net/response_sink.hpp"
#include "net/server_metrics.hpp"

namespace actorlm::net {

/// The parts of an HTTP request the endpoints look at.
struct http_request {
    std::string method;         // "GET", "POST", ...
    std::string target;         // path plus optional query
    std::string authorization;  // the Authorization header, or empty
    std::string body;
};

struct router_options {
    std::string api_key;                   // empty: no authentication
    std::vector<std::string> model_names;  // served names; the first is reported as the model
    std::string model_root;                // /v1/models "root" (the model path)
};

class api_router {
public:
    api_router(inference_backend& backend, server_metrics& metrics, router_options options);

    /// Handles `req`; the answer (possibly streamed later) goes to `sink`.
    void handle(const http_request& req, const std::shared_ptr<response_sink>& sink);

    /// True when `authorization` carries the configured key (always true without one).
    bool authorized(const std::string& authorization) const;

private:
    void handle_generation(const http_request& req, const std::shared_ptr<response_sink>& sink,
                           bool chat);
    void handle_tokenize(const http_request& req, response_sink& sink);
    void handle_detokenize(const http_request& req, response_sink& sink);
    void handle_models(response_sink& sink);
    void handle_model(const std::string& id, response_sink& sink);
    void write_model_card(json_writer& w, const std::string& name, int64_t created,
                          int32_t max_model_len) const;
    void handle_health(response_sink& sink);
    /// POST /reset_prefix_cache: 200 once the device prefix cache is empty, 503 while busy.
    void handle_reset_prefix_cache(response_sink& sink);
    bool known_model(const std::string& name) const;

    inference_backend& backend_;
    server_metrics& metrics_;
    router_options options_;
};

}  // namespace actorlm::net

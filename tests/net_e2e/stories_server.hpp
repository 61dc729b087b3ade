// engine_server / stories_server: `actorlm serve`'s stack in the test process —
// http_server + api_router + the real actorlm::engine (any model; stories_server: on
// ../shared's stories260K) — on a loopback port, for the end-to-end suites. Callers skip first when ../shared is absent
// (test::shared_path). Shuts the server down, then the engine, on destruction.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "bench/http_client.hpp"
#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "net/inference_backend.hpp"
#include "net/server_metrics.hpp"
#include "support/shared_data.hpp"

namespace actorlm::test {

struct stories_server_options {
    std::string api_key;  // empty: no authentication
    bool handle_signals = false;
    // A path under ../shared, or the template's text itself (as --chat-template takes).
    std::string chat_template = "templates/Qwen-Qwen2.5-7B-Instruct.jinja";
    int32_t max_model_len = 256;
    int32_t max_num_seqs = 512;
    int32_t num_threads = 2;
    std::string reasoning_parser;  // --reasoning-parser; empty: none
};

/// `actorlm serve`'s stack over any engine configuration: the real engine, api_router
/// (with `router`) and http_server on a loopback port. Shuts the server down, then the
/// engine, on destruction.
struct engine_server {
    engine_server(const engine_config& cfg, net::router_options router_opts,
                  bool handle_signals = false) {
        std::string error;
        eng = engine::create(cfg, &error);
        INFO(error);
        REQUIRE(eng != nullptr);
        backend = net::make_engine_backend(eng);
        metrics = std::make_unique<net::server_metrics>(router_opts.model_names.front());
        router = std::make_unique<net::api_router>(*backend, *metrics, std::move(router_opts));
        net::server_options opts;
        opts.port = 0;
        opts.handle_signals = handle_signals;
        server = std::make_unique<net::http_server>(opts, *router);
        REQUIRE(server->start().ok());
    }
    ~engine_server() {
        if (server) {
            server->request_shutdown();
            server->wait();
        }
        backend.reset();
        eng.reset();
        server.reset();
    }
    engine_server(const engine_server&) = delete;
    engine_server& operator=(const engine_server&) = delete;

    net::http_client client() const { return net::http_client("127.0.0.1", server->port(), 120); }

    std::shared_ptr<engine> eng;
    std::unique_ptr<net::inference_backend> backend;
    std::unique_ptr<net::server_metrics> metrics;
    std::unique_ptr<net::api_router> router;
    std::unique_ptr<net::http_server> server;
};

struct stories_server : engine_server {
    explicit stories_server(const stories_server_options& o = {})
        : engine_server(engine_config_of(o), router_options_of(o), o.handle_signals) {}

    static engine_config engine_config_of(const stories_server_options& o) {
        engine_config cfg;
        cfg.model_path = shared_path("models/stories260K.gguf");
        cfg.chat_template = o.chat_template.find("{%") != std::string::npos
                                ? o.chat_template
                                : shared_path(o.chat_template);
        cfg.served_model_name = "stories";
        cfg.num_threads = o.num_threads;
        cfg.max_model_len = o.max_model_len;
        cfg.max_num_seqs = o.max_num_seqs;
        return cfg;
    }
    static net::router_options router_options_of(const stories_server_options& o) {
        net::router_options ro{o.api_key, {"stories"}, ""};
        ro.reasoning_parser = o.reasoning_parser;
        return ro;
    }
};

}  // namespace actorlm::test

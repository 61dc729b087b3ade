// stories_server: `actorlm serve`'s stack in the test process — http_server +
// api_router + the real actorlm::engine on ../shared's stories260K — on a loopback
// port, for the end-to-end suites. Callers skip first when ../shared is absent
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

struct stories_server {
    explicit stories_server(const stories_server_options& o = {}) {
        engine_config cfg;
        cfg.model_path = shared_path("models/stories260K.gguf");
        cfg.chat_template = o.chat_template.find("{%") != std::string::npos
                                ? o.chat_template
                                : shared_path(o.chat_template);
        cfg.served_model_name = "stories";
        cfg.num_threads = o.num_threads;
        cfg.max_model_len = o.max_model_len;
        cfg.max_num_seqs = o.max_num_seqs;
        std::string error;
        eng = engine::create(cfg, &error);
        INFO(error);
        REQUIRE(eng != nullptr);
        backend = net::make_engine_backend(eng);
        metrics = std::make_unique<net::server_metrics>("stories");
        net::router_options ro{o.api_key, {"stories"}, ""};
        ro.reasoning_parser = o.reasoning_parser;
        router = std::make_unique<net::api_router>(*backend, *metrics, std::move(ro));
        net::server_options opts;
        opts.port = 0;
        opts.handle_signals = o.handle_signals;
        server = std::make_unique<net::http_server>(opts, *router);
        REQUIRE(server->start().ok());
    }
    ~stories_server() {
        if (server) {
            server->request_shutdown();
            server->wait();
        }
        backend.reset();
        eng.reset();
        server.reset();
    }
    stories_server(const stories_server&) = delete;
    stories_server& operator=(const stories_server&) = delete;

    net::http_client client() const { return net::http_client("127.0.0.1", server->port(), 120); }

    std::shared_ptr<engine> eng;
    std::unique_ptr<net::inference_backend> backend;
    std::unique_ptr<net::server_metrics> metrics;
    std::unique_ptr<net::api_router> router;
    std::unique_ptr<net::http_server> server;
};

}  // namespace actorlm::test

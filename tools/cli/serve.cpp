// `actorlm serve`: loads a model into an actorlm::engine and serves the OpenAI
// API over HTTP (net/http_server). Flag names follow `vllm serve`. Blocks until
// SIGTERM/SIGINT, then drains in-flight requests and exits 0.
// Engine flags come from engine_options.hpp.
// Without the engine facade in the build (actors/ absent) the command explains
// that instead of serving.
#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <actorlm/engine.hpp>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "engine_options.hpp"

#include "net/http_server.hpp"
#include "net/inference_backend.hpp"

namespace {

// 512 streams need 512 sockets; lift the soft descriptor limit to the hard one.
void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

struct serve_options {
    actorlm::engine_config cfg;
    std::vector<std::string> served_names;
    std::string host = "127.0.0.1";
    int32_t port = 8000;
    std::string api_key;
    int32_t io_threads = 2;
    int64_t max_body_bytes = 8 << 20;
};

int run_serve(serve_options& o);

actorlm::cli::command_action setup_serve(CLI::App& app) {
    using actorlm::cli::engine_flags;
    auto o = std::make_shared<serve_options>();
    actorlm::cli::add_engine_options(app, o->cfg,
                                     engine_flags::model | engine_flags::model_tag |
                                         engine_flags::serving | engine_flags::device |
                                         engine_flags::workers | engine_flags::threads |
                                         engine_flags::kv_layout | engine_flags::kv_memory |
                                         engine_flags::scheduler | engine_flags::kv_transfer,
                                     &o->served_names);
    app.add_option("--host", o->host, "address to listen on")->capture_default_str();
    app.add_option("--port", o->port, "port to listen on")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    app.add_option("--api-key", o->api_key, "require 'Authorization: Bearer KEY' on /v1/*");
    app.add_option("--io-threads", o->io_threads, "HTTP I/O threads")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--max-request-body-bytes", o->max_body_bytes, "larger request bodies get 413")
        ->type_name("SIZE")
        ->transform(actorlm::cli::byte_size())
        ->check(CLI::Range(int64_t{1024}, int64_t{1} << 32))
        ->capture_default_str();
    return [o] { return run_serve(*o); };
}

int run_serve(serve_options& o) {
    actorlm::engine_config& cfg = o.cfg;
    std::vector<std::string>& served_names = o.served_names;
    const std::string& host = o.host;
    const int32_t port = o.port;
    const std::string& api_key = o.api_key;
    const int32_t io_threads = o.io_threads;
    const int64_t max_body_bytes = o.max_body_bytes;
    raise_fd_limit();
    std::string error;
    std::shared_ptr<actorlm::engine> engine = actorlm::engine::create(cfg, &error);
    if (!engine) {
        std::fprintf(stderr, "actorlm serve: cannot start the engine: %s\n", error.c_str());
        return 1;
    }
    auto backend = actorlm::net::make_engine_backend(engine);
    const actorlm::model_info info = engine->info();
    if (served_names.empty())
        served_names.push_back(info.name.empty() ? cfg.model_path : info.name);
    actorlm::net::server_metrics metrics(served_names.front());
    actorlm::net::api_router router(*backend, metrics, {api_key, served_names, cfg.model_path});
    actorlm::net::server_options opts;
    opts.host = host;
    opts.port = static_cast<uint16_t>(port);
    opts.io_threads = io_threads;
    opts.body_limit_bytes = static_cast<size_t>(max_body_bytes);
    opts.handle_signals = true;
    int rc = 0;
    {
        actorlm::net::http_server server(opts, router);
        if (auto st = server.start(); !st) {
            std::fprintf(stderr, "actorlm serve: %s\n", st.message().c_str());
            return 1;
        }
        std::fprintf(stderr, "actorlm serve: %s (max_model_len %d) on http://%s:%u\n",
                     served_names.front().c_str(), info.max_model_len, host.c_str(),
                     static_cast<unsigned>(server.port()));
        server.wait();
        // Stop the engine while the server's io_context still exists: late callbacks
        // post into it harmlessly and are dropped with it.
        backend.reset();
        engine.reset();
    }
    std::fprintf(stderr, "actorlm serve: shut down\n");
    return rc;
}

actorlm::cli::command_registration reg("serve",
                                       "serve a model over the OpenAI API (flags as vllm serve)",
                                       setup_serve);

}  // namespace

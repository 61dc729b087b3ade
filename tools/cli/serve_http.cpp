// serve_http implementation.
#include "serve_http.hpp"

#include <sys/resource.h>

#include <simdjson.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli_values.hpp"
#include "progress_display.hpp"
#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "net/inference_backend.hpp"
#include "net/reasoning_parser.hpp"
#include "net/startup_gate.hpp"
#include "net/tool_parser.hpp"

namespace actorlm::cli {

namespace {

// 512 streams need 512 sockets; lift the soft descriptor limit to the hard one.
void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

// --limit-mm-per-prompt: a JSON object of modality -> count (vLLM's flag); only images
// exist here. The number of images, or an error naming the problem.
result<int32_t> parse_image_limit(const std::string& text) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(text).get(obj))
        return make_error("expected a JSON object such as '{\"image\": 4}', got '%s'",
                          text.c_str());
    int32_t limit = 999;
    for (auto field : obj) {
        int64_t n = 0;
        if (field.key != "image")
            return make_error("unsupported modality '%s' (only 'image' is supported)",
                              std::string(field.key).c_str());
        if (field.value.get_int64().get(n) || n < 0 || n > 1'000'000)
            return make_error("'image' must be a whole number >= 0");
        limit = static_cast<int32_t>(n);
    }
    return limit;
}

}  // namespace

void add_http_serve_options(CLI::App& app, http_serve_options& o) {
    app.add_option("--host", o.host, "address to listen on")->capture_default_str();
    app.add_option("--port", o.port, "port to listen on")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    app.add_option("--api-key", o.api_key, "require 'Authorization: Bearer KEY' on /v1/*");
    app.add_option("--io-threads", o.io_threads, "HTTP I/O threads")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--max-request-body-bytes", o.max_body_bytes, "larger request bodies get 413")
        ->type_name("SIZE")
        ->transform(byte_size())
        ->check(CLI::Range(int64_t{1024}, int64_t{1} << 32))
        ->capture_default_str();
    app.add_option("--max-request-header-bytes", o.max_header_bytes,
                   "larger request heads (request line and headers) get 431")
        ->type_name("SIZE")
        ->transform(byte_size())
        ->check(CLI::Range(int64_t{1024}, int64_t{1} << 24))
        ->capture_default_str();
    app.add_option("--max-connections", o.max_connections,
                   "open connections at most; one more gets 503 with Retry-After (0: no cap)")
        ->check(CLI::Range(0, 1 << 20))
        ->capture_default_str();
    app.add_option("--max-queued-requests", o.max_queued_requests,
                   "generation requests waiting beyond --max-num-seqs running; more get 503 "
                   "with Retry-After (-1: no limit, as vLLM)")
        ->check(CLI::Range(-1, 1 << 24))
        ->capture_default_str();
    app.add_option("--timeout-keep-alive", o.timeout_keep_alive_s,
                   "seconds a connection may take to send a request's head, or wait idle "
                   "between requests, before it is closed")
        ->check(CLI::Range(1, 86400))
        ->capture_default_str();
    app.add_option("--request-timeout", o.request_timeout_s,
                   "seconds a client may take to send a request's body before it is closed")
        ->check(CLI::Range(1, 86400))
        ->capture_default_str();
    app.add_option("--ssl-keyfile", o.ssl_keyfile, "HTTPS: the server's private key (PEM)")
        ->check(CLI::ExistingFile);
    app.add_option("--ssl-certfile", o.ssl_certfile,
                   "HTTPS: the server's certificate chain (PEM); every connection is then TLS")
        ->check(CLI::ExistingFile);
    app.add_option("--ssl-ca-certs", o.ssl_ca_certs,
                   "HTTPS: CA certificates (PEM) that client certificates must chain to")
        ->check(CLI::ExistingFile);
    app.add_option("--ssl-cert-reqs", o.ssl_cert_reqs,
                   "HTTPS: client certificates: 0 not asked for, 1 optional, 2 required "
                   "(Python's ssl.CERT_*, as vLLM)")
        ->check(CLI::Range(0, 2))
        ->capture_default_str();
    app.add_option("--limit-mm-per-prompt", o.limit_mm_per_prompt,
                   "images per request as JSON, e.g. '{\"image\": 4}' (default 999, as vLLM)")
        ->check([](const std::string& text) {
            auto r = parse_image_limit(text);
            return r ? std::string() : r.message();
        });
    app.add_option("--allowed-local-media-path", o.allowed_local_media_path,
                   "serve file:// image URLs from inside this directory (refused without it)")
        ->check(CLI::ExistingDirectory);
    app.add_option("--image-fetch-timeout", o.image_fetch_timeout_s,
                   "seconds to fetch one image URL")
        ->check(CLI::Range(0.001, 3600.0))
        ->capture_default_str();
    app.add_flag("--enable-log-requests", o.enable_log_requests,
                 "log each request's id, prompt, sampling parameters and prompt token ids "
                 "(off: no prompt is ever logged)");
    app.add_option("--max-log-len", o.max_log_len,
                   "characters of the prompt and number of prompt ids a logged request shows "
                   "(default: all)")
        ->check(actorlm::cli::non_negative());
    auto* tool_parser = app.add_option("--tool-call-parser", o.tool_call_parser,
                                       "how tool calls are read from the model's output (as "
                                       "vLLM's): hermes, llama3_json, mistral, pythonic")
                            ->check(CLI::IsMember(net::tool_parser_names()));
    app.add_flag("--enable-auto-tool-choice", o.enable_auto_tool_choice,
                 "let requests use tool_choice \"auto\" (the default when tools are sent); the "
                 "model's calls are parsed by --tool-call-parser")
        ->needs(tool_parser);
    app.add_option("--reasoning-parser", o.reasoning_parser,
                   "move the model's <think> text into reasoning_content: qwen3, deepseek_r1")
        ->check(CLI::IsMember(net::reasoning_parser_names()));
    app.add_flag("--no-webui", o.no_webui,
                 "do not serve the web chat page at / (its files are built into the binary)");
}

int serve_over_http(const std::string& command, const engine_config& cfg,
                    std::vector<std::string> served_names, const http_serve_options& o) {
    raise_fd_limit();
    net::server_options opts;
    opts.host = o.host;
    opts.port = static_cast<uint16_t>(o.port);
    opts.io_threads = o.io_threads;
    opts.body_limit_bytes = static_cast<size_t>(o.max_body_bytes);
    opts.header_limit_bytes = static_cast<size_t>(o.max_header_bytes);
    opts.max_connections = o.max_connections;
    opts.idle_timeout_s = o.timeout_keep_alive_s;
    opts.request_timeout_s = o.request_timeout_s;
    opts.ssl_keyfile = o.ssl_keyfile;
    opts.ssl_certfile = o.ssl_certfile;
    opts.ssl_ca_certs = o.ssl_ca_certs;
    opts.ssl_cert_reqs = o.ssl_cert_reqs;
    opts.handle_signals = true;
    const char* scheme = o.ssl_certfile.empty() ? "http" : "https";

    // Declared before the server: its connections use them until it is destroyed.
    std::shared_ptr<engine> eng;
    std::unique_ptr<net::inference_backend> backend;
    std::unique_ptr<net::server_metrics> metrics;
    std::unique_ptr<net::api_router> router;
    net::startup_gate gate(!o.no_webui);
    {
        // The port opens before the model loads, answering 503 until it is ready (vLLM's
        // and llama-server's /health), so that a supervisor can tell loading from dead.
        net::http_server server(opts, gate);
        if (auto st = server.start(); !st) {
            std::fprintf(stderr, "%s: %s\n", command.c_str(), st.message().c_str());
            return 1;
        }
        std::fprintf(stderr, "%s: loading %s; %s://%s:%u answers 503 until it is ready\n",
                     command.c_str(), cfg.model_path.c_str(), scheme, o.host.c_str(),
                     static_cast<unsigned>(server.port()));
        engine_config loading = cfg;
        progress_display display(stderr, command + ": weights", progress_unit::bytes);
        loading.on_load_progress = [&](const load_progress& p) {
            display.show(p.bytes_done, p.bytes_total);
            gate.report(p);
        };
        std::string error;
        eng = engine::create(loading, &error);
        if (!eng) {
            std::fprintf(stderr, "%s: cannot start the engine: %s\n", command.c_str(),
                         error.c_str());
            server.request_shutdown();
            server.wait();
            return 1;
        }
        backend = net::make_engine_backend(eng);
        const model_info info = eng->info();
        if (served_names.empty())
            served_names.push_back(info.name.empty() ? cfg.model_path : info.name);
        metrics = std::make_unique<net::server_metrics>(served_names.front());
        net::router_options ro{o.api_key, served_names, cfg.model_path};
        if (!o.limit_mm_per_prompt.empty())
            ro.limit_images_per_prompt = parse_image_limit(o.limit_mm_per_prompt).value();
        ro.media.allowed_local_media_path = o.allowed_local_media_path;
        if (o.enable_log_requests)
            ro.log_requests = std::make_shared<const net::request_log>(o.max_log_len);
        if (o.max_queued_requests >= 0)
            ro.max_requests_in_flight = int64_t{cfg.max_num_seqs} + o.max_queued_requests;
        ro.media.timeout =
            std::chrono::milliseconds(static_cast<int64_t>(o.image_fetch_timeout_s * 1000.0));
        ro.enable_auto_tool_choice = o.enable_auto_tool_choice;
        ro.tool_call_parser = o.tool_call_parser;
        ro.reasoning_parser = o.reasoning_parser;
        ro.enable_webui = !o.no_webui;
        router = std::make_unique<net::api_router>(*backend, *metrics, std::move(ro));
        gate.open(*router);
        std::fprintf(stderr, "%s: %s (max_model_len %d) on %s://%s:%u\n", command.c_str(),
                     served_names.front().c_str(), info.max_model_len, scheme, o.host.c_str(),
                     static_cast<unsigned>(server.port()));
        server.wait();
        router->wait_for_fetches();  // their last step posts to a connection of the server
        // Stop the engine while the server's io_context still exists: late callbacks
        // post into it harmlessly and are dropped with it.
        backend.reset();
        eng.reset();
    }
    std::fprintf(stderr, "%s: shut down\n", command.c_str());
    return 0;
}

}  // namespace actorlm::cli

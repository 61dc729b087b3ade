// `actorlm serve`: loads a model into an actorlm::engine and serves the OpenAI
// API over HTTP (net/http_server). Flag names follow `vllm serve`. Blocks until
// SIGTERM/SIGINT, then drains in-flight requests and exits 0.
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

#include "command_registry.hpp"

#ifdef ACTORLM_WITH_ENGINE
#include "net/http_server.hpp"
#include "net/inference_backend.hpp"
#endif

namespace {

// "4GiB", "512MiB", "1e9", "2000000000" -> bytes; -1 on malformed input.
int64_t parse_bytes(const std::string& text) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || !(value >= 0)) return -1;
    const std::string unit(end);
    double scale = 1;
    if (unit.empty() || unit == "B") scale = 1;
    else if (unit == "K" || unit == "KB") scale = 1e3;
    else if (unit == "M" || unit == "MB") scale = 1e6;
    else if (unit == "G" || unit == "GB") scale = 1e9;
    else if (unit == "KiB") scale = 1024.0;
    else if (unit == "MiB") scale = 1024.0 * 1024;
    else if (unit == "GiB") scale = 1024.0 * 1024 * 1024;
    else return -1;
    return static_cast<int64_t>(value * scale);
}

#ifdef ACTORLM_WITH_ENGINE
// 512 streams need 512 sockets; lift the soft descriptor limit to the hard one.
void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}
#endif

int run_serve(const std::vector<std::string>& args) {
    CLI::App app{"Serve a model over the OpenAI API (flags as vllm serve)", "actorlm serve"};
    actorlm::engine_config cfg;
    std::string host = "127.0.0.1";
    int32_t port = 8000;
    std::string api_key;
    std::vector<std::string> served_names;
    std::string kv_memory;
    int32_t io_threads = 2;
    int64_t max_body_bytes = 8 << 20;
    bool no_prefix_caching = false;
    app.add_option("model_tag,--model", cfg.model_path, "GGUF file or Hugging Face directory")
        ->required();
    app.add_option("--host", host, "address to listen on")->capture_default_str();
    app.add_option("--port", port, "port to listen on")->check(CLI::Range(0, 65535))->capture_default_str();
    app.add_option("--api-key", api_key, "require 'Authorization: Bearer KEY' on /v1/*");
    app.add_option("--served-model-name", served_names, "model name(s) the API accepts");
    app.add_option("--chat-template", cfg.chat_template,
                   "Jinja chat template (file or inline) instead of the model's");
    app.add_option("--max-num-seqs", cfg.max_num_seqs, "sequences per batch")
        ->check(CLI::Range(1, 1 << 20))->capture_default_str();
    app.add_option("--max-model-len", cfg.max_model_len, "context length (0 = the model's)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--max-num-batched-tokens", cfg.max_num_batched_tokens, "tokens per step")
        ->check(CLI::Range(1, 1 << 24))->capture_default_str();
    app.add_option("--kv-cache-memory", kv_memory, "KV cache size in bytes (e.g. 2GiB)");
    app.add_option("--block-size", cfg.block_size, "tokens per KV block")
        ->check(CLI::IsMember({1, 8, 16, 32, 64, 128}))->capture_default_str();
    app.add_option("--kv-cache-dtype", cfg.kv_cache_dtype, "auto (F32 for F32 weights, else F16), f32 or f16")
        ->check(CLI::IsMember({"auto", "f32", "f16"}))->capture_default_str();
    app.add_option("--threads", cfg.num_threads, "CPU threads (0 = all cores)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--worker", cfg.workers, "HOST:PORT of a remote `actorlm worker` (repeatable)");
    app.add_option("--device", cfg.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))
        ->capture_default_str();
    app.add_option("--scheduling-policy", cfg.scheduling_policy, "fcfs or priority")
        ->check(CLI::IsMember({"fcfs", "priority"}))->capture_default_str();
    app.add_option("--long-prefill-token-threshold", cfg.long_prefill_token_threshold)
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--no-enable-prefix-caching", no_prefix_caching, "disable prefix caching");
    app.add_option("--io-threads", io_threads, "HTTP I/O threads")->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--max-request-body-bytes", max_body_bytes, "larger request bodies get 413")
        ->check(CLI::Range(int64_t{1024}, int64_t{1} << 32))->capture_default_str();
    try {
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    for (const auto& w : cfg.workers) {
        const size_t colon = w.rfind(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == w.size()) {
            std::fprintf(stderr, "actorlm serve: --worker '%s' is not HOST:PORT\n", w.c_str());
            return 2;
        }
    }
    if (!kv_memory.empty()) {
        cfg.kv_cache_memory_bytes = parse_bytes(kv_memory);
        if (cfg.kv_cache_memory_bytes <= 0) {
            std::fprintf(stderr, "actorlm serve: --kv-cache-memory '%s' is not a size (e.g. 2GiB)\n",
                         kv_memory.c_str());
            return 2;
        }
    }
    cfg.enable_prefix_caching = !no_prefix_caching;
    if (!served_names.empty()) cfg.served_model_name = served_names.front();
#ifndef ACTORLM_WITH_ENGINE
    (void)host;
    (void)port;
    (void)io_threads;
    (void)max_body_bytes;
    std::fprintf(stderr, "actorlm serve: this build has no engine (the actors/ facade is not "
                         "compiled in); rebuild with actors/ present\n");
    return 1;
#else
    raise_fd_limit();
    std::string error;
    std::shared_ptr<actorlm::engine> engine = actorlm::engine::create(cfg, &error);
    if (!engine) {
        std::fprintf(stderr, "actorlm serve: cannot start the engine: %s\n", error.c_str());
        return 1;
    }
    auto backend = actorlm::net::make_engine_backend(engine);
    const actorlm::model_info info = engine->info();
    if (served_names.empty()) served_names.push_back(info.name.empty() ? cfg.model_path : info.name);
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
#endif
}

actorlm::cli::command_registration reg("serve", "serve a model over the OpenAI API", run_serve);

}  // namespace

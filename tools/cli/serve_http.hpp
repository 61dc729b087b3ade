// serve_http: the HTTP side shared by `actorlm serve` (an engine) and `actorlm router`
// (a router over cluster members): builds the engine facade from the config, serves
// the OpenAI API until SIGTERM/SIGINT, then drains and stops.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include <actorlm/engine.hpp>

namespace actorlm::cli {

struct http_serve_options {
    std::string host = "127.0.0.1";
    int32_t port = 8000;
    std::string api_key;
    int32_t io_threads = 2;
    int64_t max_body_bytes = 8 << 20;
    int64_t max_header_bytes = 64 << 10;
    int32_t max_connections = 4096;
    int32_t max_queued_requests = -1;  // waiting beyond --max-num-seqs; -1: unbounded (vLLM)
    int32_t timeout_keep_alive_s = 60;
    int32_t request_timeout_s = 60;
    std::string ssl_keyfile, ssl_certfile, ssl_ca_certs;  // HTTPS (vLLM's flags)
    int32_t ssl_cert_reqs = 0;
    std::string limit_mm_per_prompt;       // vLLM's JSON, e.g. {"image": 4}; empty: 999
    std::string allowed_local_media_path;  // file:// image URLs only below this directory
    double image_fetch_timeout_s = 5.0;    // vLLM's VLLM_IMAGE_FETCH_TIMEOUT default
    bool enable_log_requests = false;      // prompts reach the log only when asked (vLLM)
    int32_t max_log_len = -1;              // characters / ids of a logged prompt; -1: all
    bool enable_auto_tool_choice = false;  // tool_choice "auto" allowed (needs a parser)
    std::string tool_call_parser;          // hermes, llama3_json, mistral, pythonic
    std::string reasoning_parser;          // qwen3, deepseek_r1
    bool no_webui = false;                 // --no-webui: no chat page at / (llama-server)
};

/// --host, --port, --api-key, --io-threads, the limits (--max-request-body-bytes,
/// --max-request-header-bytes, --max-connections, --max-queued-requests,
/// --timeout-keep-alive, --request-timeout), HTTPS (--ssl-keyfile, --ssl-certfile,
/// --ssl-ca-certs, --ssl-cert-reqs), and the image input flags
/// --limit-mm-per-prompt, --allowed-local-media-path, --image-fetch-timeout, the request
/// log (--enable-log-requests, --max-log-len), and tool calling / reasoning:
/// --enable-auto-tool-choice, --tool-call-parser, --reasoning-parser; --no-webui.
void add_http_serve_options(CLI::App& app, http_serve_options& o);

/// Serves `cfg`'s engine (or router) until a signal; the exit status. `command` names
/// the command in messages ("actorlm serve").
int serve_over_http(const std::string& command, const engine_config& cfg,
                    std::vector<std::string> served_names, const http_serve_options& o);

}  // namespace actorlm::cli

// api_router: maps one HTTP request to its endpoint (OpenAI /v1/*, vLLM's
// /tokenize, /detokenize, /health, /version, /metrics, /props, the web page at `/`),
// checks the API key and the model name, and answers through a response_sink.
// Generation requests are tokenized and checked against the context here, then become
// a generation_job.
// Called on the connection's strand; the router itself is immutable after
// construction and shared by all connections.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/admission_control.hpp"
#include "net/chat_output_stream.hpp"
#include "net/inference_backend.hpp"
#include "net/json_writer.hpp"
#include "net/media_fetch.hpp"
#include "net/openai_protocol.hpp"
#include "net/request_handler.hpp"
#include "net/request_log.hpp"
#include "net/response_sink.hpp"
#include "net/server_metrics.hpp"

namespace actorlm::net {

struct router_options {
    std::string api_key;                   // empty: no authentication
    std::vector<std::string> model_names;  // served names; the first is reported as the model
    std::string model_root;                // /v1/models "root" (the model path)
    media_fetch_options media;             // image URLs: timeout, byte limit, local files
    // --limit-mm-per-prompt '{"image": N}': images per request (vLLM V1's default, 999).
    int32_t limit_images_per_prompt = 999;
    // Generation requests held at once (running + waiting); more get 503 + Retry-After.
    // <= 0: no limit. `actorlm serve` sets --max-num-seqs + --max-queued-requests.
    int64_t max_requests_in_flight = 0;
    // --enable-log-requests: one line per accepted generation request; null: nothing logged.
    std::shared_ptr<const request_log> log_requests;
    // Tool calling and reasoning (vLLM's flags): --enable-auto-tool-choice lets requests
    // use tool_choice "auto" (the default with tools), parsed by --tool-call-parser;
    // --reasoning-parser moves <think> text to reasoning_content. Empty: off.
    bool enable_auto_tool_choice = false;
    std::string tool_call_parser;
    std::string reasoning_parser;
    // The web chat page at `/` and its files under /webui/ (net/webui_assets.hpp);
    // false (--no-webui, llama-server's flag): those paths are unknown (404).
    bool enable_webui = true;
};

class api_router final : public request_handler {
public:
    api_router(inference_backend& backend, server_metrics& metrics, router_options options);
    /// Waits for image fetches still running (each ends within the fetch timeout).
    ~api_router();
    api_router(const api_router&) = delete;
    api_router& operator=(const api_router&) = delete;

    /// Returns once no image fetch is running: call it before the server that carries
    /// the router's connections is destroyed, since a fetch ends by posting to one.
    void wait_for_fetches();

    /// Handles `req`; the answer (possibly streamed later) goes to `sink`.
    void handle(const http_request& req, const std::shared_ptr<response_sink>& sink) override;

    /// True when `authorization` carries the configured key (always true without one).
    bool authorized(const std::string& authorization) const;

private:
    void handle_generation(const http_request& req, const std::shared_ptr<response_sink>& sink,
                           bool chat);
    /// POST /v1/embeddings: one pooling engine request per input (embedding_job).
    void handle_embeddings(const http_request& req, const std::shared_ptr<response_sink>& sink);
    /// A 400 naming `param` for a prompt token id outside the vocabulary.
    std::optional<api_error> check_token_ids(const std::vector<generate_request>& prompts,
                                             const std::string& param) const;
    /// Sets `slot` to a slot for one more request, or returns the 503 that says why there
    /// is none (the engine is unhealthy, or the server holds its limit of requests).
    std::optional<api_error> admit(std::shared_ptr<admission_control::ticket>& slot);
    /// The image checks that cost nothing, before any fetch: the per-prompt limit, then
    /// whether the model takes images at all.
    std::optional<api_error> check_images(const std::vector<generate_request>& prompts,
                                          const std::string& model) const;
    /// Fetches the request's http(s)/file images on a short-lived thread (never on the
    /// I/O thread), then continues with submit_generation on the connection's strand.
    void fetch_images_then_submit(openai_request parsed, const std::shared_ptr<response_sink>& sink,
                                  bool chat, std::shared_ptr<admission_control::ticket> slot,
                                  chat_output_parsers parsers);
    /// Tokenizes, checks the context and starts the generation job (on the strand), which
    /// holds `slot` until its response ends.
    void submit_generation(openai_request parsed, const std::shared_ptr<response_sink>& sink,
                           bool chat, std::shared_ptr<admission_control::ticket> slot,
                           chat_output_parsers parsers);
    void handle_tokenize(const http_request& req, response_sink& sink);
    void handle_detokenize(const http_request& req, response_sink& sink);
    void handle_models(response_sink& sink);
    void handle_model(const std::string& id, response_sink& sink);
    void write_model_card(json_writer& w, const std::string& name, int64_t created,
                          int32_t max_model_len) const;
    void handle_health(response_sink& sink);
    /// GET /props (llama-server's name): what a client such as the web page needs to know
    /// about the served model beyond /v1/models: whether chat works (and why not), vision,
    /// context length.
    void handle_props(response_sink& sink);
    /// GET of an embedded web UI file; false when `path` is none (or the UI is off).
    bool serve_webui(const std::string& path, response_sink& sink) const;
    /// POST /reset_prefix_cache: 200 once the device prefix cache is empty, 503 while busy.
    void handle_reset_prefix_cache(response_sink& sink);
    /// /cluster/members (a router's membership): GET lists, POST {"address", "role"} adds,
    /// DELETE /cluster/members/HOST:PORT removes.
    void handle_cluster_members(const http_request& req, const std::string& path,
                                response_sink& sink);
    /// POST /cluster/migrate {"from", "to", "request_id"?}: live migration on a router.
    void handle_cluster_migrate(const http_request& req, response_sink& sink);
    bool known_model(const std::string& name) const;
    /// The parsers a chat request's output goes through, or the 400 vLLM gives a
    /// tool_choice the server's flags do not allow. Adjusts the request for them.
    std::optional<api_error> choose_output_parsers(openai_request& parsed,
                                                   chat_output_parsers& out) const;

    // Image fetch threads in flight (see fetch_images_then_submit); shared with them, so
    // a thread's last unlock never touches a router already gone.
    struct fetch_count {
        std::mutex mu;
        std::condition_variable done;
        int in_flight = 0;
    };
    std::shared_ptr<fetch_count> fetches_ = std::make_shared<fetch_count>();

    inference_backend& backend_;
    server_metrics& metrics_;
    router_options options_;
    admission_control admission_;
    std::shared_ptr<const tool_parser> tool_parser_;            // --tool-call-parser
    std::shared_ptr<const reasoning_parser> reasoning_parser_;  // --reasoning-parser
};

}  // namespace actorlm::net

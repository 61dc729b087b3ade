// api_router: endpoint dispatch, API-key and model checks, and the small
// endpoints (models, health, version, tokenize, detokenize, metrics).
#include "net/api_router.hpp"

#include <chrono>
#include <optional>
#include <string_view>

#include "net/generation_job.hpp"
#include "net/json_writer.hpp"
#include "net/openai_protocol.hpp"

namespace actorlm::net {

namespace {

void send_error(response_sink& sink, const api_error& err) {
    sink.send(err.http_status, "application/json", err.to_json());
}

int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// %XX escapes of a path segment; a malformed escape stays as written.
std::string percent_decode(std::string_view s) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// vLLM's check (serving_engine's _validate_input), worded as vLLM and OpenAI word it:
// an explicit max_tokens must fit beside the prompt; without one the prompt must leave
// room for at least one token and the engine generates up to the model length.
std::optional<api_error> check_context_length(size_t num_prompt_tokens, bool max_tokens_set,
                                              int32_t max_tokens, int32_t max_model_len) {
    if (max_model_len <= 0) return std::nullopt;
    const auto prompt = static_cast<int64_t>(num_prompt_tokens);
    const std::string limit = "This model's maximum context length is " +
                              std::to_string(max_model_len) + " tokens. However, you requested ";
    if (!max_tokens_set || max_tokens < 0) {
        if (prompt < max_model_len) return std::nullopt;
        return invalid_request(limit + std::to_string(prompt) +
                                   " tokens in the messages, Please reduce the length of the "
                                   "messages.",
                               "messages", "context_length_exceeded");
    }
    if (prompt + max_tokens <= max_model_len) return std::nullopt;
    return invalid_request(limit + std::to_string(prompt + max_tokens) + " tokens (" +
                               std::to_string(prompt) + " in the messages, " +
                               std::to_string(max_tokens) +
                               " in the completion). Please reduce the length of the messages "
                               "or completion.",
                           "messages", "context_length_exceeded");
}

// Constant-time comparison so response timing does not leak the key's prefix.
bool same_secret(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace

api_router::api_router(inference_backend& backend, server_metrics& metrics, router_options options)
    : backend_(backend), metrics_(metrics), options_(std::move(options)) {
    if (options_.model_names.empty()) options_.model_names.push_back(backend_.info().name);
}

bool api_router::authorized(const std::string& authorization) const {
    if (options_.api_key.empty()) return true;
    const std::string prefix = "Bearer ";
    if (authorization.rfind(prefix, 0) != 0) return false;
    return same_secret(authorization.substr(prefix.size()), options_.api_key);
}

bool api_router::known_model(const std::string& name) const {
    if (name.empty()) return true;  // vLLM: an omitted model means the served one
    for (const auto& m : options_.model_names)
        if (m == name) return true;
    return false;
}

void api_router::handle(const http_request& req, const std::shared_ptr<response_sink>& sink) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    const bool get = req.method == "GET";
    const bool post = req.method == "POST";
    // vLLM guards only the OpenAI routes with the key; probes and metrics stay open.
    // The admin reset is guarded too (vLLM leaves it open in its dev mode only).
    if ((path.rfind("/v1/", 0) == 0 || path == "/reset_prefix_cache") &&
        !authorized(req.authorization))
        return send_error(*sink, invalid_api_key());

    struct route {
        const char* path;
        bool is_post;
    };
    static const route routes[] = {{"/v1/completions", true},    {"/v1/chat/completions", true},
                                   {"/v1/models", false},        {"/health", false},
                                   {"/version", false},          {"/metrics", false},
                                   {"/tokenize", true},          {"/detokenize", true},
                                   {"/reset_prefix_cache", true}};
    // GET /v1/models/{id} (the SDK's models.retrieve); ids may hold '/' ("org/name").
    const std::string_view models_prefix = "/v1/models/";
    if (path.size() > models_prefix.size() && path.rfind(models_prefix, 0) == 0) {
        if (!get) return send_error(*sink, method_not_allowed(req.method, path));
        return handle_model(percent_decode(std::string_view(path).substr(models_prefix.size())),
                            *sink);
    }
    for (const auto& r : routes) {
        if (path != r.path) continue;
        if (r.is_post ? !post : !get)
            return send_error(*sink, method_not_allowed(req.method, path));
        if (path == "/v1/completions") return handle_generation(req, sink, false);
        if (path == "/v1/chat/completions") return handle_generation(req, sink, true);
        if (path == "/v1/models") return handle_models(*sink);
        if (path == "/health") return handle_health(*sink);
        if (path == "/version")
            return sink->send(200, "application/json", "{\"version\":\"0.1.0\"}");
        if (path == "/metrics")
            return sink->send(200, "text/plain; version=0.0.4; charset=utf-8",
                              metrics_.exposition(backend_.stats()));
        if (path == "/tokenize") return handle_tokenize(req, *sink);
        if (path == "/reset_prefix_cache") return handle_reset_prefix_cache(*sink);
        return handle_detokenize(req, *sink);
    }
    send_error(*sink, route_not_found(req.method, path));
}

void api_router::handle_reset_prefix_cache(response_sink& sink) {
    std::string error;
    if (!backend_.reset_prefix_cache(&error))
        return send_error(sink, service_unavailable("Prefix cache not reset: " + error));
    sink.send(200, "application/json", "{\"reset\":true}");
}

void api_router::handle_generation(const http_request& req,
                                   const std::shared_ptr<response_sink>& sink, bool chat) {
    openai_request parsed;
    if (auto err = chat ? parse_chat_request(req.body, parsed)
                        : parse_completion_request(req.body, parsed))
        return send_error(*sink, *err);
    if (!known_model(parsed.model)) return send_error(*sink, model_not_found(parsed.model));
    const model_info info = backend_.info();
    for (const auto& p : parsed.prompts) {
        for (int32_t id : p.prompt_token_ids) {
            if (info.vocab_size > 0 && id >= info.vocab_size)
                return send_error(*sink, invalid_request("Token id " + std::to_string(id) +
                                                             " is out of vocabulary (size " +
                                                             std::to_string(info.vocab_size) + ").",
                                                         "prompt"));
        }
    }
    if (!backend_.stats().healthy)
        return send_error(*sink, service_unavailable("The engine is unhealthy: " +
                                                     backend_.stats().health_message));
    // Tokenize here, as vLLM's API server does: the context check needs the prompt's length
    // and must answer 400 before anything is submitted or any stream begins. The engine then
    // runs exactly these ids (the text stays for echo).
    for (auto& p : parsed.prompts) {
        std::vector<int32_t> ids;
        std::string error;
        if (!backend_.tokenize_prompt(p, &ids, &error))
            return send_error(
                *sink, invalid_request(error, chat ? "messages" : "prompt", "invalid_request"));
        if (auto err = check_context_length(ids.size(), parsed.max_tokens_set, p.params.max_tokens,
                                            info.max_model_len))
            return send_error(*sink, *err);
        p.prompt_token_ids = std::move(ids);
    }
    response_context ctx;
    ctx.kind = parsed.kind;
    ctx.id = make_response_id(chat ? "chatcmpl-" : "cmpl-");
    ctx.created = unix_seconds();
    ctx.model = parsed.model.empty() ? options_.model_names.front() : parsed.model;
    ctx.want_logprobs = parsed.want_logprobs;
    ctx.top_logprobs = parsed.top_logprobs;
    // Engine request ids derive from the response id so logs can be matched.
    for (size_t i = 0; i < parsed.prompts.size(); ++i)
        parsed.prompts[i].request_id = ctx.id + "-" + std::to_string(i);
    auto job = std::make_shared<generation_job>(backend_, metrics_, sink, std::move(parsed),
                                                std::move(ctx));
    job->start();
}

void api_router::handle_tokenize(const http_request& req, response_sink& sink) {
    tokenize_request parsed;
    if (auto err = parse_tokenize_request(req.body, parsed)) return send_error(sink, *err);
    if (!known_model(parsed.model)) return send_error(sink, model_not_found(parsed.model));
    // The very function generation uses, so the count equals usage.prompt_tokens.
    std::vector<int32_t> ids;
    std::string error;
    if (!backend_.tokenize_prompt(parsed.prompt, &ids, &error))
        return send_error(sink,
                          invalid_request("Tokenization failed: " + error,
                                          parsed.prompt.messages.empty() ? "prompt" : "messages"));
    json_writer w;
    w.begin_object().key("tokens").begin_array();
    for (int32_t id : ids) w.value(id);
    w.end_array();
    w.field("count", static_cast<int64_t>(ids.size()));
    w.field("max_model_len", backend_.info().max_model_len);
    w.end_object();
    sink.send(200, "application/json", w.take());
}

void api_router::handle_detokenize(const http_request& req, response_sink& sink) {
    detokenize_request parsed;
    if (auto err = parse_detokenize_request(req.body, parsed)) return send_error(sink, *err);
    if (!known_model(parsed.model)) return send_error(sink, model_not_found(parsed.model));
    std::string text, error;
    if (!backend_.detokenize(parsed.tokens, &text, &error))
        return send_error(sink, invalid_request("Detokenization failed: " + error, "tokens"));
    json_writer w;
    w.begin_object().field("prompt", text).end_object();
    sink.send(200, "application/json", w.take());
}

void api_router::write_model_card(json_writer& w, const std::string& name, int64_t created,
                                  int32_t max_model_len) const {
    w.begin_object().field("id", name).field("object", "model").field("created", created);
    w.field("owned_by", "actorlm");
    w.field("root", options_.model_root.empty() ? name : options_.model_root);
    w.key("parent").null();
    w.field("max_model_len", max_model_len);
    w.end_object();
}

void api_router::handle_models(response_sink& sink) {
    const model_info info = backend_.info();
    const int64_t created = unix_seconds();
    json_writer w;
    w.begin_object().field("object", "list").key("data").begin_array();
    for (const auto& name : options_.model_names)
        write_model_card(w, name, created, info.max_model_len);
    w.end_array().end_object();
    sink.send(200, "application/json", w.take());
}

void api_router::handle_model(const std::string& id, response_sink& sink) {
    // Unlike a generation request, an empty id names no model here.
    if (id.empty() || !known_model(id)) return send_error(sink, model_not_found(id));
    json_writer w;
    write_model_card(w, id, unix_seconds(), backend_.info().max_model_len);
    sink.send(200, "application/json", w.take());
}

void api_router::handle_health(response_sink& sink) {
    const engine_stats stats = backend_.stats();
    if (stats.healthy) return sink.send(200, "text/plain", "");
    send_error(sink, service_unavailable("The engine is unhealthy: " + stats.health_message));
}

}  // namespace actorlm::net

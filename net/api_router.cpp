// api_router: endpoint dispatch, API-key and model checks, and the small
// endpoints (models, health, version, tokenize, detokenize, metrics).
#include "net/api_router.hpp"

#include <chrono>
#include <optional>
#include <string_view>
#include <thread>

#include "net/embedding_job.hpp"
#include "net/embedding_request.hpp"
#include "net/generation_job.hpp"
#include "net/json_fields.hpp"
#include "net/percent_decode.hpp"
#include "net/json_writer.hpp"
#include "net/openai_protocol.hpp"
#include "net/request_fields.hpp"
#include "net/webui_assets.hpp"

namespace actorlm::net {

namespace {

int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
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

// An image part still to be fetched: its http(s) or file URL and its JSON path.
struct pending_image {
    image_input* image;
    std::string param;
};

// Walks the parts in a fixed order, so collecting and filling in meet the same images.
std::vector<pending_image> pending_images(std::vector<generate_request>& prompts) {
    std::vector<pending_image> out;
    for (auto& p : prompts) {
        for (size_t m = 0; m < p.messages.size(); ++m) {
            auto& parts = p.messages[m].parts;
            for (size_t k = 0; k < parts.size(); ++k) {
                image_input& img = parts[k].image;
                if (parts[k].type != content_part::kind::image || !img.data.empty()) continue;
                const media_url_kind kind = classify_media_url(img.source);
                if (kind != media_url_kind::http && kind != media_url_kind::file) continue;
                out.push_back({&img, "messages[" + std::to_string(m) + "].content[" +
                                         std::to_string(k) + "]"});
            }
        }
    }
    return out;
}

size_t count_images(const std::vector<generate_request>& prompts) {
    size_t n = 0;
    for (const auto& p : prompts)
        for (const auto& m : p.messages)
            for (const auto& part : m.parts) n += part.type == content_part::kind::image;
    return n;
}

}  // namespace

api_router::api_router(inference_backend& backend, server_metrics& metrics, router_options options)
    : backend_(backend),
      metrics_(metrics),
      options_(std::move(options)),
      admission_(options_.max_requests_in_flight),
      tool_parser_(make_tool_parser(options_.tool_call_parser)),
      reasoning_parser_(make_reasoning_parser(options_.reasoning_parser)) {
    if (options_.model_names.empty()) options_.model_names.push_back(backend_.info().name);
}

std::optional<api_error> api_router::choose_output_parsers(openai_request& parsed,
                                                           chat_output_parsers& out) const {
    using choice = chat_tool_options::choice;
    const chat_tool_options& t = parsed.tools;
    generate_request& req = parsed.prompts.front();
    switch (t.tool_choice) {
        case choice::none: break;
        case choice::automatic:
            if (!options_.enable_auto_tool_choice || !tool_parser_)
                return invalid_request(
                    "\"auto\" tool choice requires --enable-auto-tool-choice "
                    "and --tool-call-parser to be set",
                    "tool_choice");
            out.tools = tool_parser_;
            // Call markers such as [TOOL_CALLS] and <|python_tag|> are special tokens the
            // parser must see (vLLM's parsers turn skipping off the same way).
            req.params.skip_special_tokens = false;
            break;
        case choice::required: out.tools = make_required_tool_parser(); break;
        case choice::named:
            out.tools = make_named_tool_parser(t.function_name);
            out.finish_as_tool_calls = false;
            break;
    }
    // A structured output is constrained after the reasoning ends (the engine's grammar
    // waits for the parser's closing marker, as vLLM's does), so its reasoning is split
    // off like any other.
    out.reasoning = reasoning_parser_;
    if (reasoning_parser_ && req.params.structured_output.active()) {
        req.params.structured_output.reasoning_start = reasoning_parser_->start_marker();
        req.params.structured_output.reasoning_end = reasoning_parser_->end_marker();
    }
    out.max_calls = t.parallel_tool_calls ? SIZE_MAX : 1;
    out.include_reasoning = t.include_reasoning;
    return std::nullopt;
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
    // The web page is served without the key, as llama-server does: it asks the user for
    // the key and sends it on every API call. /props describes the model as /v1/models does.
    if (get && serve_webui(path, *sink)) return;
    const bool cluster_admin = path.rfind("/cluster/", 0) == 0;
    if ((path.rfind("/v1/", 0) == 0 || path == "/reset_prefix_cache" || path == "/props" ||
         cluster_admin) &&
        !authorized(req.authorization))
        return send_error(*sink, invalid_api_key());
    if (path == "/cluster/migrate") {
        if (!post) return send_error(*sink, method_not_allowed(req.method, path));
        return handle_cluster_migrate(req, *sink);
    }
    if (path.rfind("/cluster/members", 0) == 0) return handle_cluster_members(req, path, *sink);

    struct route {
        const char* path;
        bool is_post;
    };
    static const route routes[] = {{"/v1/completions", true}, {"/v1/chat/completions", true},
                                   {"/v1/embeddings", true},  {"/v1/models", false},
                                   {"/health", false},        {"/version", false},
                                   {"/metrics", false},       {"/tokenize", true},
                                   {"/detokenize", true},     {"/reset_prefix_cache", true},
                                   {"/props", false}};
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
        if (path == "/v1/embeddings") return handle_embeddings(req, sink);
        if (path == "/v1/models") return handle_models(*sink);
        if (path == "/health") return handle_health(*sink);
        if (path == "/version")
            return sink->send(200, "application/json", "{\"version\":\"0.1.0\"}");
        if (path == "/metrics")
            return sink->send(200, "text/plain; version=0.0.4; charset=utf-8",
                              metrics_.exposition(backend_.stats(), backend_.cluster_members()));
        if (path == "/tokenize") return handle_tokenize(req, *sink);
        if (path == "/reset_prefix_cache") return handle_reset_prefix_cache(*sink);
        if (path == "/props") return handle_props(*sink);
        return handle_detokenize(req, *sink);
    }
    send_error(*sink, route_not_found(req.method, path));
}

void api_router::handle_cluster_members(const http_request& req, const std::string& path,
                                        response_sink& sink) {
    const std::string base = "/cluster/members";
    const bool whole = path == base;
    const bool one = path.size() > base.size() + 1 && path.rfind(base + "/", 0) == 0;
    if (whole && req.method == "GET") {
        json_writer w;
        w.begin_object().field("object", "list").key("data").begin_array();
        for (const auto& m : backend_.cluster_members()) {
            w.begin_object().field("address", m.address).field("role", m.role);
            w.field("connected", m.connected).field("healthy", m.healthy);
            w.field("num_requests_running", m.num_requests_running);
            w.field("num_requests_waiting", m.num_requests_waiting);
            w.end_object();
        }
        w.end_array().end_object();
        return sink.send(200, "application/json", w.take());
    }
    std::string address, role = "replica", error;
    if (whole && req.method == "POST") {
        simdjson::dom::object body;
        if (auto err = json::parse_object(thread_parser(), req.body, body))
            return send_error(sink, *err);
        for (auto field : body) {
            if (field.key == "address") {
                if (auto err = json::get_string(field.value, "address", address))
                    return send_error(sink, *err);
            } else if (field.key == "role") {
                if (auto err = json::get_string(field.value, "role", role))
                    return send_error(sink, *err);
            }
        }
        if (address.empty())
            return send_error(sink,
                              invalid_request("'address' (HOST:PORT) is required", "address"));
        if (!backend_.add_cluster_member(address, role, &error))
            return send_error(sink, invalid_request("Member not added: " + error, "address"));
    } else if (one && req.method == "DELETE") {
        address = percent_decode(std::string_view(path).substr(base.size() + 1));
        if (!backend_.remove_cluster_member(address, &error))
            return send_error(sink, invalid_request("Member not removed: " + error, "address"));
    } else if (whole || one) {
        return send_error(sink, method_not_allowed(req.method, path));
    } else {
        return send_error(sink, route_not_found(req.method, path));
    }
    json_writer w;
    w.begin_object()
        .field("address", address)
        .field(req.method == "POST" ? "added" : "removed", true);
    w.end_object();
    sink.send(200, "application/json", w.take());
}

void api_router::handle_cluster_migrate(const http_request& req, response_sink& sink) {
    simdjson::dom::object body;
    if (auto err = json::parse_object(thread_parser(), req.body, body))
        return send_error(sink, *err);
    std::string from, to, request_id;
    for (auto field : body) {
        std::string* out = field.key == "from"         ? &from
                           : field.key == "to"         ? &to
                           : field.key == "request_id" ? &request_id
                                                       : nullptr;
        if (!out) continue;
        if (auto err = json::get_string(field.value, field.key, *out))
            return send_error(sink, *err);
    }
    if (from.empty() || to.empty())
        return send_error(sink, invalid_request("'from' and 'to' (HOST:PORT of two members) are "
                                                "required",
                                                from.empty() ? "from" : "to"));
    std::string error;
    const int32_t n = backend_.migrate_requests(from, to, request_id, &error);
    if (n < 0) return send_error(sink, invalid_request("Not migrated: " + error, "from"));
    json_writer w;
    w.begin_object().field("from", from).field("to", to).field("migrated", n).end_object();
    sink.send(200, "application/json", w.take());
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
    chat_output_parsers parsers;
    if (chat)
        if (auto err = choose_output_parsers(parsed, parsers)) return send_error(*sink, *err);
    if (!known_model(parsed.model)) return send_error(*sink, model_not_found(parsed.model));
    // An encoder (BERT) has no language-model head: a 400 here, as vLLM answers, rather
    // than the engine's refusal after admission.
    if (const model_info info = backend_.info(); info.embedding_only)
        return send_error(*sink, invalid_request("The model " + info.name +
                                                     " is an embedding model; it serves "
                                                     "/v1/embeddings, not " +
                                                     (chat ? "chat completions." : "completions."),
                                                 "model"));
    if (auto err = check_token_ids(parsed.prompts, "prompt")) return send_error(*sink, *err);
    std::shared_ptr<admission_control::ticket> slot;
    if (auto err = admit(slot)) return send_error(*sink, *err);
    if (chat) {
        const std::string model =
            parsed.model.empty() ? options_.model_names.front() : parsed.model;
        if (auto err = check_images(parsed.prompts, model)) return send_error(*sink, *err);
        if (!pending_images(parsed.prompts).empty())
            return fetch_images_then_submit(std::move(parsed), sink, chat, std::move(slot),
                                            std::move(parsers));
    }
    submit_generation(std::move(parsed), sink, chat, std::move(slot), std::move(parsers));
}

std::optional<api_error> api_router::check_token_ids(const std::vector<generate_request>& prompts,
                                                     const std::string& param) const {
    const model_info info = backend_.info();
    for (const auto& p : prompts)
        for (int32_t id : p.prompt_token_ids)
            if (info.vocab_size > 0 && id >= info.vocab_size)
                return invalid_request("Token id " + std::to_string(id) +
                                           " is out of vocabulary (size " +
                                           std::to_string(info.vocab_size) + ").",
                                       param);
    return std::nullopt;
}

std::optional<api_error> api_router::admit(std::shared_ptr<admission_control::ticket>& slot) {
    if (!backend_.stats().healthy)
        return service_unavailable("The engine is unhealthy: " + backend_.stats().health_message);
    slot = admission_.try_admit();
    if (!slot)
        return service_unavailable("The server holds " + std::to_string(admission_.limit()) +
                                   " requests, its limit (--max-num-seqs running plus "
                                   "--max-queued-requests waiting); retry later.");
    return std::nullopt;
}

void api_router::handle_embeddings(const http_request& req,
                                   const std::shared_ptr<response_sink>& sink) {
    embedding_request parsed;
    if (auto err = parse_embedding_request(req.body, parsed)) return send_error(*sink, *err);
    if (!known_model(parsed.model)) return send_error(*sink, model_not_found(parsed.model));
    const model_info info = backend_.info();
    if (parsed.dimensions && info.hidden_size > 0 && *parsed.dimensions > info.hidden_size)
        return send_error(*sink,
                          invalid_request("dimensions " + std::to_string(*parsed.dimensions) +
                                              " exceeds the model's embedding size " +
                                              std::to_string(info.hidden_size) + ".",
                                          "dimensions"));
    if (auto err = resolve_truncation(parsed, info.max_model_len)) return send_error(*sink, *err);
    if (auto err = check_token_ids(parsed.inputs, "input")) return send_error(*sink, *err);
    // The model's own pooling (a BERT's sentence-transformers config, a GGUF's pooling_type),
    // as vLLM applies it; a model that declares none pools LAST (decoder embedding models).
    for (generate_request& p : parsed.inputs)
        p.params.pooling = info.default_pooling.value_or(pooling_params{});
    std::shared_ptr<admission_control::ticket> slot;
    if (auto err = admit(slot)) return send_error(*sink, *err);
    // As for generation: the inputs are tokenized here so that one too long for the
    // context is a 400 before anything runs. A pooling request generates nothing, so
    // the whole context is the prompt's (vLLM's check for embeddings). A truncation cuts
    // the tokens before that check, as vLLM truncates while tokenizing.
    embedding_response response;
    for (size_t i = 0; i < parsed.inputs.size(); ++i) {
        generate_request& p = parsed.inputs[i];
        std::string error;
        if (!backend_.prepare_prompt(p, &error))
            return send_error(*sink, invalid_request(error, "input", "invalid_request"));
        if (parsed.truncate_prompt_tokens) truncate_prompt(p, *parsed.truncate_prompt_tokens);
        const auto len = static_cast<int64_t>(p.prompt_token_ids.size());
        if (info.max_model_len > 0 && len > info.max_model_len)
            return send_error(
                *sink,
                invalid_request("This model's maximum context length is " +
                                    std::to_string(info.max_model_len) +
                                    " tokens. However, you requested " + std::to_string(len) +
                                    " tokens in input " + std::to_string(i) +
                                    " for embedding generation. Please reduce the "
                                    "length of the input.",
                                "input", "context_length_exceeded"));
    }
    response.id = make_response_id("embd-");
    response.created = unix_seconds();
    response.model = parsed.model.empty() ? options_.model_names.front() : parsed.model;
    for (size_t i = 0; i < parsed.inputs.size(); ++i) {
        parsed.inputs[i].request_id = response.id + "-" + std::to_string(i);
        if (options_.log_requests) options_.log_requests->received(parsed.inputs[i]);
    }
    auto job = std::make_shared<embedding_job>(backend_, metrics_, sink, std::move(parsed),
                                               std::move(response), std::move(slot));
    job->start();
}

std::optional<api_error> api_router::check_images(const std::vector<generate_request>& prompts,
                                                  const std::string& model) const {
    const size_t n = count_images(prompts);
    if (n == 0) return std::nullopt;
    // vLLM's order and wording: the count is checked as each item is added, before any
    // fetch; a model without a multimodal processor cannot take any.
    if (n > static_cast<size_t>(std::max(options_.limit_images_per_prompt, 0)))
        return invalid_request("At most " + std::to_string(options_.limit_images_per_prompt) +
                                   " image(s) may be provided in one prompt (--limit-mm-per-prompt)"
                                   "; this request has " +
                                   std::to_string(n) + ".",
                               "messages", "invalid_value");
    if (!backend_.info().supports_image_input)
        return invalid_request("model '" + model + "' does not support image input", "messages",
                               "unsupported_content_type");
    return std::nullopt;
}

void api_router::fetch_images_then_submit(openai_request parsed,
                                          const std::shared_ptr<response_sink>& sink, bool chat,
                                          std::shared_ptr<admission_control::ticket> slot,
                                          chat_output_parsers parsers) {
    auto request = std::make_shared<openai_request>(std::move(parsed));
    std::vector<std::string> urls;
    for (const auto& p : pending_images(request->prompts)) urls.push_back(p.image->source);
    // A thread per request that fetches: the fetches run concurrently on its own
    // io_context, each bounded by the fetch timeout, so the thread lives at most about
    // that long and the I/O threads never wait on a slow host.
    {
        std::lock_guard lock(fetches_->mu);
        ++fetches_->in_flight;
    }
    std::thread([this, request, sink, chat, slot, parsers, urls = std::move(urls),
                 media = options_.media, count = fetches_] {
        auto fetched =
            std::make_shared<std::vector<result<std::string>>>(fetch_media_all(urls, media));
        sink->post([this, request, sink, chat, fetched, slot, parsers] {
            auto pending = pending_images(request->prompts);
            for (size_t i = 0; i < pending.size() && i < fetched->size(); ++i) {
                auto& r = (*fetched)[i];
                if (!r)
                    return send_error(
                        *sink, invalid_request(
                                   "Invalid image in '" + pending[i].param + "': " + r.message(),
                                   pending[i].param + ".image_url.url", "invalid_image_url"));
                pending[i].image->data = std::move(r.value());
            }
            submit_generation(std::move(*request), sink, chat, slot, parsers);
        });
        std::lock_guard lock(count->mu);
        if (--count->in_flight == 0) count->done.notify_all();
    }).detach();
}

void api_router::wait_for_fetches() {
    std::unique_lock lock(fetches_->mu);
    fetches_->done.wait(lock, [&] { return fetches_->in_flight == 0; });
}

api_router::~api_router() { wait_for_fetches(); }

void api_router::submit_generation(openai_request parsed,
                                   const std::shared_ptr<response_sink>& sink, bool chat,
                                   std::shared_ptr<admission_control::ticket> slot,
                                   chat_output_parsers parsers) {
    const model_info info = backend_.info();
    // Prepare the prompt here, as vLLM's API server processes its inputs: the context check
    // needs the prompt's length and must answer 400 before anything is submitted or any
    // stream begins. The engine then runs exactly this prompt, ids and processed images,
    // without preparing it again (the text stays for echo).
    for (auto& p : parsed.prompts) {
        std::string error;
        if (!backend_.prepare_prompt(p, &error))
            return send_error(
                *sink, invalid_request(error, chat ? "messages" : "prompt", "invalid_request"));
        if (auto err = check_context_length(p.prompt_token_ids.size(), parsed.max_tokens_set,
                                            p.params.max_tokens, info.max_model_len))
            return send_error(*sink, *err);
    }
    response_context ctx;
    ctx.kind = parsed.kind;
    ctx.id = make_response_id(chat ? "chatcmpl-" : "cmpl-");
    ctx.created = unix_seconds();
    ctx.model = parsed.model.empty() ? options_.model_names.front() : parsed.model;
    ctx.want_logprobs = parsed.want_logprobs;
    ctx.top_logprobs = parsed.top_logprobs;
    // Engine request ids derive from the response id so logs can be matched.
    for (size_t i = 0; i < parsed.prompts.size(); ++i) {
        parsed.prompts[i].request_id = ctx.id + "-" + std::to_string(i);
        if (options_.log_requests) options_.log_requests->received(parsed.prompts[i]);
    }
    auto job =
        std::make_shared<generation_job>(backend_, metrics_, sink, std::move(parsed),
                                         std::move(ctx), std::move(slot), std::move(parsers));
    job->start();
}

void api_router::handle_tokenize(const http_request& req, response_sink& sink) {
    tokenize_request parsed;
    if (auto err = parse_tokenize_request(req.body, parsed)) return send_error(sink, *err);
    if (!known_model(parsed.model)) return send_error(sink, model_not_found(parsed.model));
    if (auto err = check_images({parsed.prompt},
                                parsed.model.empty() ? options_.model_names.front() : parsed.model))
        return send_error(sink, *err);
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

void api_router::handle_props(response_sink& sink) {
    const model_info info = backend_.info();
    json_writer w;
    w.begin_object().field("model", options_.model_names.front());
    w.key("served_model_names").begin_array();
    for (const auto& name : options_.model_names) w.value(name);
    w.end_array();
    w.field("max_model_len", info.max_model_len);
    // Whether chat requests can be served is whether one turn renders: the very path a
    // chat request takes (no template, one that does not parse, one that rejects a plain
    // user turn all fail it), and the engine's own words say why when it cannot.
    generate_request probe;
    probe.messages.push_back({.role = "user", .content = "Hello"});
    std::vector<int32_t> ids;
    std::string chat_error;
    const bool chat = backend_.tokenize_prompt(probe, &ids, &chat_error);
    w.field("has_chat_template", chat);
    if (chat) w.key("chat_template_error").null();
    else w.field("chat_template_error", chat_error);
    w.key("modalities").begin_object().field("vision", info.supports_image_input).end_object();
    w.end_object();
    sink.send(200, "application/json", w.take());
}

bool api_router::serve_webui(const std::string& path, response_sink& sink) const {
    return options_.enable_webui && send_webui_asset(path, sink);
}

void api_router::handle_health(response_sink& sink) {
    const engine_stats stats = backend_.stats();
    if (stats.healthy) return sink.send(200, "text/plain", "");
    send_error(sink, service_unavailable("The engine is unhealthy: " + stats.health_message));
}

}  // namespace actorlm::net

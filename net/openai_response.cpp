// OpenAI response and chunk JSON (see openai_response.hpp). Logprobs follow the
// two OpenAI layouts: completions' parallel arrays (tokens, token_logprobs,
// top_logprobs, text_offset) and chat's content[{token, logprob, bytes, top_logprobs}].
#include "net/openai_response.hpp"

#include <random>

#include "net/json_writer.hpp"

namespace actorlm::net {

namespace {

void write_bytes(json_writer& w, const std::string& text) {
    w.begin_array();
    for (unsigned char c : text) w.value(static_cast<int32_t>(c));
    w.end_array();
}

// Completions: {"text_offset": [...], "token_logprobs": [...], "tokens": [...],
// "top_logprobs": [{text: logprob}, ...]}; prompt positions without a logprob are null.
void write_completion_logprobs(json_writer& w,
                               const std::vector<std::optional<token_logprob>>& prompt,
                               const std::vector<token_logprob>& output, size_t text_offset) {
    std::vector<const token_logprob*> all;
    all.reserve(prompt.size() + output.size());
    for (const auto& p : prompt) all.push_back(p ? &*p : nullptr);
    for (const auto& t : output) all.push_back(&t);
    w.begin_object();
    w.key("text_offset").begin_array();
    size_t offset = text_offset;
    for (size_t i = 0; i < all.size(); ++i) {
        w.value(static_cast<uint64_t>(offset));
        offset += all[i] ? all[i]->text.size() : 0;
    }
    w.end_array();
    w.key("token_logprobs").begin_array();
    for (const auto* t : all) {
        if (t)
            w.value(t->logprob);
        else
            w.null();  // the first prompt token has no logprob
    }
    w.end_array();
    w.key("tokens").begin_array();
    for (const auto* t : all) w.value(t ? t->text : std::string());
    w.end_array();
    w.key("top_logprobs").begin_array();
    for (const auto* t : all) {
        if (!t) {
            w.null();
            continue;
        }
        w.begin_object();
        for (const auto& alt : t->top) w.field(alt.text, alt.logprob);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [{token, logprob, bytes}]}]}.
void write_chat_logprobs(json_writer& w, const std::vector<token_logprob>& output,
                         int32_t top_logprobs) {
    w.begin_object().key("content").begin_array();
    for (const auto& t : output) {
        w.begin_object().field("token", t.text).field("logprob", t.logprob);
        w.key("bytes");
        write_bytes(w, t.text);
        w.key("top_logprobs").begin_array();
        int32_t k = 0;
        for (const auto& alt : t.top) {
            if (k++ >= top_logprobs) break;
            w.begin_object().field("token", alt.text).field("logprob", alt.logprob);
            w.key("bytes");
            write_bytes(w, alt.text);
            w.end_object();
        }
        w.end_array().end_object();
    }
    w.end_array().key("refusal").null().end_object();
}

void write_header(json_writer& w, const response_context& ctx, const char* object) {
    w.field("id", ctx.id).field("object", object).field("created", ctx.created);
    w.field("model", ctx.model);
}

void write_usage(json_writer& w, const usage_counts& u) {
    w.key("usage").begin_object();
    w.field("prompt_tokens", u.prompt_tokens).field("completion_tokens", u.completion_tokens);
    w.field("total_tokens", u.prompt_tokens + u.completion_tokens);
    w.end_object();
}

void write_finish(json_writer& w, finish_reason finish, const std::string& stop_reason,
                  bool as_tool_calls = false) {
    w.key("finish_reason");
    if (as_tool_calls && finish == finish_reason::stop)
        w.value("tool_calls");
    else if (const char* f = finish_reason_json(finish))
        w.value(f);
    else
        w.null();
    w.key("stop_reason");
    if (stop_reason.empty())
        w.null();
    else
        w.value(stop_reason);
}

void write_kv_transfer_params(json_writer& w, const kv_transfer_params& kt) {
    w.key("kv_transfer_params").begin_object();
    w.field("do_remote_decode", kt.do_remote_decode);
    w.field("do_remote_prefill", kt.do_remote_prefill);
    w.field("remote_host", kt.remote_host).field("remote_port", kt.remote_port);
    w.field("remote_request_id", kt.remote_request_id);
    w.key("remote_block_ids").begin_array();
    for (int32_t b : kt.remote_block_ids) w.value(b);
    w.end_array().end_object();
}

// One entry of a tool_calls array; a fragment (no id) carries only its arguments.
void write_tool_call(json_writer& w, const tool_call_out& call) {
    w.begin_object().field("index", call.index);
    if (!call.id.empty()) w.field("id", call.id).field("type", "function");
    w.key("function").begin_object();
    if (!call.id.empty()) w.field("name", call.name);
    w.field("arguments", call.arguments).end_object();
    w.end_object();
}

void write_parsed_message(json_writer& w, const choice_output& c) {
    w.key("message").begin_object().field("role", "assistant");
    w.key("content");
    if (c.content.empty() && !c.tool_calls.empty())
        w.null();
    else
        w.value(c.content);
    if (c.has_reasoning) {
        w.key("reasoning_content");
        if (c.reasoning.empty())
            w.null();
        else
            w.value(c.reasoning);
    }
    w.key("tool_calls").begin_array();
    for (const auto& call : c.tool_calls) {
        w.begin_object().field("id", call.id).field("type", "function");
        w.key("function").begin_object().field("name", call.name);
        w.field("arguments", call.arguments).end_object().end_object();
    }
    w.end_array().end_object();
}

}  // namespace

std::string make_response_id(const char* prefix) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char* hex = "0123456789abcdef";
    std::string id(prefix);
    for (int i = 0; i < 32; ++i) id.push_back(hex[rng() & 15u]);
    return id;
}

const char* finish_reason_json(finish_reason r) {
    switch (r) {
        case finish_reason::none: return nullptr;
        case finish_reason::stop: return "stop";
        case finish_reason::length: return "length";
        case finish_reason::abort: return "abort";
        case finish_reason::error: return "error";
    }
    return nullptr;
}

std::string full_response_json(const response_context& ctx,
                               const std::vector<choice_output>& choices,
                               const usage_counts& usage) {
    const bool chat = ctx.kind == endpoint_kind::chat;
    json_writer w;
    w.begin_object();
    write_header(w, ctx, chat ? "chat.completion" : "text_completion");
    w.key("choices").begin_array();
    for (const auto& c : choices) {
        w.begin_object().field("index", c.index);
        if (chat && c.parsed) {
            write_parsed_message(w, c);
        } else if (chat) {
            w.key("message").begin_object().field("role", "assistant").field("content", c.text);
            w.key("tool_calls").begin_array().end_array();
            w.end_object();
        } else {
            w.field("text", c.text);
        }
        w.key("logprobs");
        if (!ctx.want_logprobs)
            w.null();
        else if (chat)
            write_chat_logprobs(w, c.logprobs, ctx.top_logprobs);
        else
            write_completion_logprobs(w, c.prompt_logprobs, c.logprobs, 0);
        write_finish(w, c.finish, c.stop_reason, c.finish_as_tool_calls);
        w.end_object();
    }
    w.end_array();
    write_usage(w, usage);
    // vLLM's response field: where a decode engine pulls this request's KV.
    for (const auto& c : choices)
        if (c.kv_transfer) {
            write_kv_transfer_params(w, *c.kv_transfer);
            break;
        }
    w.end_object();
    return w.take();
}

std::string chunk_json(const response_context& ctx, int32_t index, const std::string& text,
                       const std::vector<token_logprob>& logprobs, size_t text_offset, bool first,
                       finish_reason finish, const std::string& stop_reason) {
    const bool chat = ctx.kind == endpoint_kind::chat;
    json_writer w;
    w.begin_object();
    write_header(w, ctx, chat ? "chat.completion.chunk" : "text_completion");
    w.key("choices").begin_array().begin_object().field("index", index);
    if (chat) {
        w.key("delta").begin_object();
        if (first) w.field("role", "assistant");
        if (!text.empty() || first) w.field("content", text);
        w.end_object();
    } else {
        w.field("text", text);
    }
    w.key("logprobs");
    if (!ctx.want_logprobs)
        w.null();
    else if (chat)
        write_chat_logprobs(w, logprobs, ctx.top_logprobs);
    else
        write_completion_logprobs(w, {}, logprobs, text_offset);
    write_finish(w, finish, stop_reason);
    w.end_object().end_array();
    w.end_object();
    return w.take();
}

std::string parsed_chunk_json(const response_context& ctx, int32_t index, const chat_delta& delta,
                              const std::vector<token_logprob>& logprobs, finish_reason finish,
                              bool finish_as_tool_calls, const std::string& stop_reason) {
    json_writer w;
    w.begin_object();
    write_header(w, ctx, "chat.completion.chunk");
    w.key("choices").begin_array().begin_object().field("index", index);
    w.key("delta").begin_object();
    if (!delta.reasoning.empty()) w.field("reasoning_content", delta.reasoning);
    if (!delta.content.empty()) w.field("content", delta.content);
    if (!delta.tool_calls.empty()) {
        w.key("tool_calls").begin_array();
        for (const auto& call : delta.tool_calls) write_tool_call(w, call);
        w.end_array();
    }
    w.end_object();
    w.key("logprobs");
    if (!ctx.want_logprobs)
        w.null();
    else
        write_chat_logprobs(w, logprobs, ctx.top_logprobs);
    write_finish(w, finish, stop_reason, finish_as_tool_calls);
    w.end_object().end_array();
    w.end_object();
    return w.take();
}

std::string usage_chunk_json(const response_context& ctx, const usage_counts& usage) {
    const bool chat = ctx.kind == endpoint_kind::chat;
    json_writer w;
    w.begin_object();
    write_header(w, ctx, chat ? "chat.completion.chunk" : "text_completion");
    w.key("choices").begin_array().end_array();
    write_usage(w, usage);
    w.end_object();
    return w.take();
}

}  // namespace actorlm::net

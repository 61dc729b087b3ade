// request_log: formats the "received request" line (JSON-quoted prompt, so newlines
// and control characters in a prompt cannot forge log lines) and hands it to the sink.
#include "net/request_log.hpp"

#include <algorithm>
#include <cstdio>

#include "net/json_writer.hpp"

namespace actorlm::net {

namespace {

// `text` cut to `max_chars` UTF-8 characters (never inside a character).
std::string_view cut_utf8(std::string_view text, int32_t max_chars) {
    if (max_chars < 0) return text;
    size_t at = 0;
    for (int32_t chars = 0; at < text.size() && chars < max_chars; ++chars) {
        ++at;
        while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
    }
    return text.substr(0, at);
}

void write_params(json_writer& w, const sampling_params& p) {
    w.begin_object().field("n", p.n).field("temperature", p.temperature).field("top_p", p.top_p);
    w.field("top_k", p.top_k).field("min_p", p.min_p);
    if (p.seed) w.field("seed", *p.seed);
    w.field("presence_penalty", p.presence_penalty);
    w.field("frequency_penalty", p.frequency_penalty);
    w.field("repetition_penalty", p.repetition_penalty);
    w.field("max_tokens", p.max_tokens).field("min_tokens", p.min_tokens);
    w.field("ignore_eos", p.ignore_eos);
    w.key("stop").begin_array();
    for (const auto& s : p.stop) w.value(s);
    w.end_array();
    w.field("logprobs", p.logprobs);
    w.field("structured_output", structured_output_kind_name(p.structured_output.type));
    w.end_object();
}

}  // namespace

request_log::request_log(int32_t max_log_len, sink_fn sink)
    : max_log_len_(max_log_len), sink_(std::move(sink)) {
    if (!sink_)
        sink_ = [](std::string_view line) {
            std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
        };
}

std::string request_log::received_line(const generate_request& request) const {
    // A chat request's messages as "role: content" lines (the template renders them later).
    std::string text = request.prompt;
    for (const auto& m : request.messages) text += m.role + ": " + m.content + "\n";
    json_writer prompt;
    prompt.value(cut_utf8(text, max_log_len_));
    json_writer params;
    write_params(params, request.params);
    std::string ids = "[";
    const size_t shown = max_log_len_ < 0
                             ? request.prompt_token_ids.size()
                             : std::min(request.prompt_token_ids.size(),
                                        static_cast<size_t>(max_log_len_));
    for (size_t i = 0; i < shown; ++i) {
        if (i > 0) ids += ", ";
        ids += std::to_string(request.prompt_token_ids[i]);
    }
    ids += shown < request.prompt_token_ids.size() ? ", ...]" : "]";
    return "actorlm: received request " + request.request_id + ": prompt: " + prompt.str() +
           ", params: " + params.str() + ", prompt_token_ids: " + ids;
}

void request_log::received(const generate_request& request) const {
    sink_(received_line(request));
}

}  // namespace actorlm::net

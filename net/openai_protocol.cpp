// /v1/completions, /tokenize and /detokenize body parsing (chat is in
// chat_request_parser.cpp). A thread_local simdjson parser keeps its buffers
// between requests of one I/O thread.
#include "net/openai_protocol.hpp"

#include "net/request_fields.hpp"

namespace actorlm::net {

using json::maybe_error;
using simdjson::dom::element_type;

simdjson::dom::parser& thread_parser() {
    thread_local simdjson::dom::parser parser;
    return parser;
}

// Declared in request_fields.hpp: /v1/embeddings reads its `input` with it.
maybe_error read_prompt_inputs(json::element v, std::string_view name,
                               std::vector<generate_request>& prompts) {
    prompts.clear();
    if (v.type() == element_type::STRING) {
        prompts.emplace_back().prompt = std::string(v.get_string().value_unsafe());
        return std::nullopt;
    }
    if (v.type() != element_type::ARRAY)
        return json::type_error(name, "a string, an array of strings or of token ids", v);
    simdjson::dom::array items = v.get_array().value_unsafe();
    if (items.size() == 0) return json::value_error(name, "must not be empty");
    const element_type first = items.at(0).value_unsafe().type();
    if (first == element_type::INT64 || first == element_type::UINT64 ||
        first == element_type::DOUBLE) {
        auto& req = prompts.emplace_back();
        return json::get_token_list(v, name, req.prompt_token_ids);
    }
    for (json::element item : items) {
        if (item.type() != first)
            return json::value_error(name,
                                     "array elements must all be strings or all be "
                                     "token-id arrays");
        auto& req = prompts.emplace_back();
        if (first == element_type::STRING) {
            req.prompt = std::string(item.get_string().value_unsafe());
        } else if (first == element_type::ARRAY) {
            ACTORLM_NET_TRY(json::get_token_list(item, name, req.prompt_token_ids));
            if (req.prompt_token_ids.empty())
                return json::value_error(name, "token-id prompts must not be empty");
        } else {
            return json::type_error(name, "a string, an array of strings or of token ids", item);
        }
    }
    return std::nullopt;
}

maybe_error finish_generation_request(const common_fields& f, openai_request& out) {
    ACTORLM_NET_TRY(validate_common(f));
    out.model = f.model;
    out.user = f.user;
    out.stream = f.stream;
    out.include_usage = f.include_usage;
    out.max_tokens_set = f.max_tokens_set;
    for (auto& req : out.prompts) {
        req.params = f.params;
        req.priority = f.priority;
        req.cache_salt = f.cache_salt;
        req.add_special_tokens = f.add_special_tokens;
    }
    return std::nullopt;
}

maybe_error parse_completion_request(std::string_view body, openai_request& out) {
    out = openai_request{};
    out.kind = endpoint_kind::completion;
    simdjson::dom::object obj;
    ACTORLM_NET_TRY(json::parse_object(thread_parser(), body, obj));
    common_fields f;
    f.params.max_tokens = 16;  // OpenAI's default for completions
    bool have_prompt = false;
    int32_t logprobs = -1;
    for (auto field : obj) {
        const std::string_view key = field.key;
        const json::element v = field.value;
        if (json::is_null(v)) continue;  // clients send null for "unset"
        maybe_error err;
        if (read_common_field(key, v, f, err)) {
            if (err) return err;
        } else if (key == "prompt") {
            ACTORLM_NET_TRY(read_prompt_inputs(v, key, out.prompts));
            have_prompt = true;
        } else if (key == "logprobs") {
            ACTORLM_NET_TRY(json::get_int32(v, key, logprobs));
            if (logprobs < 0 || logprobs > k_max_logprobs)
                return json::value_error(key, "must be in [0, " + std::to_string(k_max_logprobs) +
                                                  "], got " + std::to_string(logprobs));
        } else if (key == "echo") {
            ACTORLM_NET_TRY(json::get_bool(v, key, out.echo));
        } else if (key == "suffix") {
            return invalid_request("'suffix' is not supported.", "suffix", "unsupported_parameter");
        } else if (key == "best_of") {
            int32_t best_of = 1;
            ACTORLM_NET_TRY(json::get_int32(v, key, best_of));
            if (best_of != 1)
                return invalid_request("'best_of' other than 1 is not supported.", "best_of",
                                       "unsupported_parameter");
        }
    }
    if (!have_prompt)
        return invalid_request("Missing required parameter: 'prompt'.", "prompt",
                               "missing_required_parameter");
    if (logprobs >= 0) {
        out.want_logprobs = true;
        out.top_logprobs = logprobs;
        f.params.logprobs = logprobs;
        if (out.echo) f.params.prompt_logprobs = logprobs;
    }
    return finish_generation_request(f, out);
}

maybe_error parse_tokenize_request(std::string_view body, tokenize_request& out) {
    out = tokenize_request{};
    simdjson::dom::object obj;
    ACTORLM_NET_TRY(json::parse_object(thread_parser(), body, obj));
    bool have_prompt = false;
    bool have_messages = false;
    generate_request& req = out.prompt;
    for (auto field : obj) {
        const std::string_view key = field.key;
        const json::element v = field.value;
        if (json::is_null(v)) continue;
        if (key == "model") {
            ACTORLM_NET_TRY(json::get_string(v, key, out.model));
        } else if (key == "prompt") {
            ACTORLM_NET_TRY(json::get_string(v, key, req.prompt));
            have_prompt = true;
        } else if (key == "messages") {
            ACTORLM_NET_TRY(parse_chat_messages(v, req.messages));
            have_messages = true;
        } else if (key == "tools") {
            if (v.type() != element_type::ARRAY) return json::type_error(key, "an array", v);
            req.tools_json = simdjson::minify(v);
        } else if (key == "add_special_tokens") {
            bool add = true;
            ACTORLM_NET_TRY(json::get_bool(v, key, add));
            req.add_special_tokens = add;
        } else if (key == "add_generation_prompt") {
            ACTORLM_NET_TRY(json::get_bool(v, key, req.add_generation_prompt));
        }
    }
    if (have_prompt == have_messages)
        return invalid_request("Exactly one of 'prompt' and 'messages' is required.", "prompt",
                               "missing_required_parameter");
    return std::nullopt;
}

maybe_error parse_detokenize_request(std::string_view body, detokenize_request& out) {
    out = detokenize_request{};
    simdjson::dom::object obj;
    ACTORLM_NET_TRY(json::parse_object(thread_parser(), body, obj));
    bool have_tokens = false;
    for (auto field : obj) {
        if (json::is_null(field.value)) continue;
        if (field.key == "model") {
            ACTORLM_NET_TRY(json::get_string(field.value, "model", out.model));
        } else if (field.key == "tokens") {
            ACTORLM_NET_TRY(json::get_token_list(field.value, "tokens", out.tokens));
            have_tokens = true;
        }
    }
    if (!have_tokens)
        return invalid_request("Missing required parameter: 'tokens'.", "tokens",
                               "missing_required_parameter");
    return std::nullopt;
}

}  // namespace actorlm::net

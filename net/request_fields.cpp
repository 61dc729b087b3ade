// Shared OpenAI/vLLM request fields: reading and range validation, following
// vLLM's SamplingParams checks so clients see the errors they already know.
#include "net/request_fields.hpp"

#include <cstdlib>

#include "net/openai_protocol.hpp"
#include "net/structured_output_fields.hpp"

namespace actorlm::net {

using json::maybe_error;

namespace {

maybe_error read_logit_bias(json::element v, sampling_params& p) {
    simdjson::dom::object obj;
    if (v.get_object().get(obj)) return json::type_error("logit_bias", "an object", v);
    p.logit_bias.clear();
    for (auto field : obj) {
        const std::string key(field.key);
        char* end = nullptr;
        const long id = std::strtol(key.c_str(), &end, 10);
        if (key.empty() || *end != '\0' || id < 0 || id > INT32_MAX)
            return json::value_error("logit_bias", "keys must be token ids, got '" + key + "'");
        float bias = 0;
        ACTORLM_NET_TRY(json::get_float(field.value, "logit_bias", bias));
        if (bias < -100.0f || bias > 100.0f)
            return json::value_error("logit_bias", "bias values must be in [-100, 100]");
        p.logit_bias.emplace_back(static_cast<int32_t>(id), bias);
    }
    return std::nullopt;
}

maybe_error read_stream_options(json::element v, common_fields& f) {
    simdjson::dom::object obj;
    if (v.get_object().get(obj)) return json::type_error("stream_options", "an object", v);
    f.stream_options_set = true;
    for (auto field : obj) {
        if (field.key == "include_usage" && !json::is_null(field.value))
            ACTORLM_NET_TRY(
                json::get_bool(field.value, "stream_options.include_usage", f.include_usage));
    }
    return std::nullopt;
}

// vLLM's kv_transfer_params (disaggregated prefill, docs/cluster.md): the keys it
// sends; unknown keys are ignored as vLLM's connectors ignore them; null is unset.
maybe_error read_kv_transfer_params(json::element v, sampling_params& p) {
    if (json::is_null(v)) return std::nullopt;
    simdjson::dom::object obj;
    if (v.get_object().get(obj)) return json::type_error("kv_transfer_params", "an object", v);
    kv_transfer_params kt;
    for (auto field : obj) {
        if (json::is_null(field.value)) continue;
        const std::string name = "kv_transfer_params." + std::string(field.key);
        if (field.key == "do_remote_decode")
            ACTORLM_NET_TRY(json::get_bool(field.value, name, kt.do_remote_decode));
        else if (field.key == "do_remote_prefill")
            ACTORLM_NET_TRY(json::get_bool(field.value, name, kt.do_remote_prefill));
        else if (field.key == "remote_host")
            ACTORLM_NET_TRY(json::get_string(field.value, name, kt.remote_host));
        else if (field.key == "remote_port")
            ACTORLM_NET_TRY(json::get_int32(field.value, name, kt.remote_port));
        else if (field.key == "remote_request_id")
            ACTORLM_NET_TRY(json::get_string(field.value, name, kt.remote_request_id));
        else if (field.key == "remote_block_ids")
            ACTORLM_NET_TRY(json::get_token_list(field.value, name, kt.remote_block_ids));
    }
    p.kv_transfer = std::move(kt);
    return std::nullopt;
}

maybe_error read_field(std::string_view key, json::element v, common_fields& f, bool& known) {
    sampling_params& p = f.params;
    known = true;
    maybe_error structured_error;
    if (read_structured_output_field(key, v, f, structured_error)) return structured_error;
    if (key == "model") return json::get_string(v, key, f.model);
    if (key == "max_tokens") {
        f.max_tokens_set = true;
        return json::get_int32(v, key, p.max_tokens);
    }
    if (key == "temperature") return json::get_float(v, key, p.temperature);
    if (key == "top_p") return json::get_float(v, key, p.top_p);
    if (key == "top_k") return json::get_int32(v, key, p.top_k);
    if (key == "min_p") return json::get_float(v, key, p.min_p);
    if (key == "n") return json::get_int32(v, key, p.n);
    if (key == "stop") return json::get_string_or_list(v, key, p.stop);
    if (key == "seed") {
        uint64_t seed = 0;
        ACTORLM_NET_TRY(json::get_uint64(v, key, seed));
        p.seed = seed;
        return std::nullopt;
    }
    if (key == "presence_penalty") return json::get_float(v, key, p.presence_penalty);
    if (key == "frequency_penalty") return json::get_float(v, key, p.frequency_penalty);
    if (key == "repetition_penalty") return json::get_float(v, key, p.repetition_penalty);
    if (key == "logit_bias") return read_logit_bias(v, p);
    if (key == "ignore_eos") return json::get_bool(v, key, p.ignore_eos);
    // Ours (vLLM has no per-request switch): false keeps this request out of speculation.
    if (key == "speculative_decoding") return json::get_bool(v, key, p.speculative_decoding);
    if (key == "min_tokens") return json::get_int32(v, key, p.min_tokens);
    // vLLM's extra sampling arguments for custom logits processors (docs/plugins.md).
    if (key == "vllm_xargs") {
        if (json::is_null(v)) return std::nullopt;
        simdjson::dom::object obj;
        if (v.get_object().get(obj)) return json::type_error("vllm_xargs", "an object", v);
        p.extra_args_json = simdjson::minify(v);
        return std::nullopt;
    }
    if (key == "stop_token_ids") return json::get_token_list(v, key, p.stop_token_ids);
    if (key == "skip_special_tokens") return json::get_bool(v, key, p.skip_special_tokens);
    if (key == "spaces_between_special_tokens")
        return json::get_bool(v, key, p.spaces_between_special_tokens);
    if (key == "include_stop_str_in_output")
        return json::get_bool(v, key, p.include_stop_str_in_output);
    if (key == "user") return json::get_string(v, key, f.user);
    if (key == "priority") return json::get_int32(v, key, f.priority);
    if (key == "cache_salt") {
        ACTORLM_NET_TRY(json::get_string(v, key, f.cache_salt));
        if (f.cache_salt.empty()) return json::value_error(key, "must be a non-empty string");
        return std::nullopt;
    }
    if (key == "stream") return json::get_bool(v, key, f.stream);
    if (key == "add_special_tokens") {
        bool add = true;
        ACTORLM_NET_TRY(json::get_bool(v, key, add));
        f.add_special_tokens = add;
        return std::nullopt;
    }
    if (key == "stream_options") return read_stream_options(v, f);
    if (key == "kv_transfer_params") return read_kv_transfer_params(v, p);
    known = false;
    return std::nullopt;
}

}  // namespace

bool read_common_field(std::string_view key, json::element value, common_fields& f,
                       maybe_error& err) {
    bool known = false;
    err = read_field(key, value, f, known);
    return known;
}

maybe_error validate_common(const common_fields& f) {
    const sampling_params& p = f.params;
    // The API's own limits first (OpenAI's: n at most k_max_n, max_tokens given must be >= 1),
    // then the one range table the engine also applies.
    if (p.n > k_max_n) return json::value_error("n", "must be at most " + std::to_string(k_max_n));
    if (f.max_tokens_set && p.max_tokens < 1)
        return json::value_error("max_tokens",
                                 "must be at least 1, got " + std::to_string(p.max_tokens));
    if (p.min_tokens < 0)
        return json::value_error("min_tokens", "must be >= 0, got " + std::to_string(p.min_tokens));
    if (f.max_tokens_set && p.min_tokens > p.max_tokens)
        return json::value_error("min_tokens",
                                 "must be <= max_tokens (" + std::to_string(p.max_tokens) + ")");
    if (auto e = check_sampling_params(p))
        return json::value_error(e->field == "structured_outputs" ? f.structured_output_field
                                                                   : e->field,
                                 e->message);
    for (const auto& s : p.stop)
        if (s.empty()) return json::value_error("stop", "stop strings must not be empty");
    if (f.stream_options_set && !f.stream)
        return json::value_error("stream_options", "only allowed when 'stream' is true");
    return std::nullopt;
}

}  // namespace actorlm::net

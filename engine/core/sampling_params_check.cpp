// sampling_params_check implementation.
#include "core/sampling_params_check.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "structured/grammar_source.hpp"

namespace actorlm {

namespace {

std::string fmt(const char* f, double v) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), f, v);
    return buf;
}

}  // namespace

std::optional<sampling_params_error> check_sampling_params(const sampling_params& p) {
    auto bad = [](const char* field, std::string message) {
        return std::optional<sampling_params_error>(
            sampling_params_error{field, std::move(message)});
    };
    if (p.n < 1) return bad("n", fmt("must be at least 1, got %g", p.n));
    if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature))
        return bad("temperature", fmt("must be a finite number >= 0, got %g", p.temperature));
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
        return bad("top_p", fmt("must be in (0, 1], got %g", p.top_p));
    if (p.top_k < -1)
        return bad("top_k", fmt("must be -1 (off), 0 (off) or at least 1, got %g", p.top_k));
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f))
        return bad("min_p", fmt("must be in [0, 1], got %g", p.min_p));
    if (!(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f))
        return bad("presence_penalty", fmt("must be in [-2, 2], got %g", p.presence_penalty));
    if (!(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f))
        return bad("frequency_penalty", fmt("must be in [-2, 2], got %g", p.frequency_penalty));
    if (!(p.repetition_penalty > 0.0f && p.repetition_penalty <= 2.0f))
        return bad("repetition_penalty", fmt("must be in (0, 2], got %g", p.repetition_penalty));
    if (p.max_tokens == 0 || p.max_tokens < -1)
        return bad("max_tokens",
                   fmt("must be at least 1 (or -1 for no limit), got %g", p.max_tokens));
    if (p.min_tokens < 0) return bad("min_tokens", fmt("must be >= 0, got %g", p.min_tokens));
    if (p.max_tokens > 0 && p.min_tokens > p.max_tokens)
        return bad("min_tokens", "must not exceed max_tokens (" + std::to_string(p.max_tokens) +
                                     "), got " + std::to_string(p.min_tokens));
    if (p.logprobs < -1 || p.logprobs > k_max_logprobs)
        return bad("logprobs", "must be in [0, " + std::to_string(k_max_logprobs) +
                                   "] (or -1 for none), got " + std::to_string(p.logprobs));
    if (p.prompt_logprobs < -1 || p.prompt_logprobs > k_max_logprobs)
        return bad("prompt_logprobs", "must be in [0, " + std::to_string(k_max_logprobs) +
                                          "] (or -1 for none), got " +
                                          std::to_string(p.prompt_logprobs));
    for (const auto& [tok, bias] : p.logit_bias)
        if (!std::isfinite(bias))
            return bad("logit_bias",
                       "the bias for token " + std::to_string(tok) + " is not finite");
    if (const auto& kt = p.kv_transfer) {
        if (kt->do_remote_decode && kt->do_remote_prefill)
            return bad("kv_transfer_params",
                       "do_remote_decode and do_remote_prefill exclude each other");
        if ((kt->do_remote_decode || kt->do_remote_prefill) && p.n != 1)
            return bad("kv_transfer_params", "a disaggregated request must have n = 1");
        if (kt->do_remote_prefill &&
            (kt->remote_host.empty() || kt->remote_port <= 0 || kt->remote_port > 65535 ||
             kt->remote_request_id.empty()))
            return bad("kv_transfer_params",
                       "do_remote_prefill needs remote_host, remote_port (1-65535) and "
                       "remote_request_id");
    }
    if (p.pooling) {
        // One vector per prompt, from the prompt alone.
        if (p.n != 1) return bad("n", "a pooling (embedding) request must have n = 1");
        if (p.prompt_logprobs >= 0)
            return bad("prompt_logprobs", "a pooling (embedding) request has no logprobs");
    }
    if (p.structured_output.active()) {
        // Compiling without a vocabulary is cheap (no token masks) and finds every
        // problem a request can have: the runner's compile with the vocabulary then works.
        if (auto e = structured::structured_output_error(p.structured_output))
            return bad("structured_outputs", *e);
    }
    return std::nullopt;
}

const char* pooling_kind_name(pooling_params::kind k) {
    switch (k) {
        case pooling_params::kind::last: return "LAST";
        case pooling_params::kind::mean: return "MEAN";
        case pooling_params::kind::cls: return "CLS";
    }
    return "";
}

const char* structured_output_kind_name(structured_output_params::kind k) {
    using kind = structured_output_params::kind;
    switch (k) {
        case kind::json_schema: return "json";
        case kind::json_object: return "json_object";
        case kind::regex: return "regex";
        case kind::choice: return "choice";
        case kind::grammar: return "grammar";
        case kind::none: break;
    }
    return "";
}

}  // namespace actorlm

namespace actorlm::core {

status validate_sampling_params(const actorlm::sampling_params& p, int64_t vocab_size) {
    if (auto e = check_sampling_params(p))
        return make_error("%s %s", e->field.c_str(), e->message.c_str());
    if (vocab_size > 0) {
        for (const auto& [tok, bias] : p.logit_bias)
            if (tok < 0 || tok >= vocab_size)
                return make_error("logit_bias token id %d is outside the vocabulary [0, %lld)", tok,
                                  static_cast<long long>(vocab_size));
        for (int32_t tok : p.stop_token_ids)
            if (tok < 0 || tok >= vocab_size)
                return make_error("stop_token_ids entry %d is outside the vocabulary [0, %lld)",
                                  tok, static_cast<long long>(vocab_size));
    }
    return status::success();
}

}  // namespace actorlm::core

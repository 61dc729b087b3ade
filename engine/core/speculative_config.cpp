// speculative_config parsing with simdjson's DOM: an object of known keys only,
// integers where integers belong; defaults filled as vLLM's SpeculativeConfig does.
#include "core/speculative_config.hpp"

#include <simdjson.h>

#include <optional>
#include <string>

namespace actorlm::core {

namespace {

/// An integer field in [lo, hi]; the error names the field.
result<int32_t> int_field(simdjson::dom::element value, const char* key, int64_t lo, int64_t hi) {
    int64_t v = 0;
    if (value.get_int64().get(v))
        return make_error("speculative_config: '%s' must be an integer", key);
    if (v < lo || v > hi)
        return make_error("speculative_config: '%s' must be in %lld..%lld, got %lld", key,
                          static_cast<long long>(lo), static_cast<long long>(hi),
                          static_cast<long long>(v));
    return static_cast<int32_t>(v);
}

}  // namespace

result<speculative_config> parse_speculative_config(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::padded_string padded(json);
    if (auto err = parser.parse(padded).get(doc); err)
        return make_error("speculative_config is not valid JSON: %s", simdjson::error_message(err));
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) return make_error("speculative_config must be a JSON object");
    speculative_config cfg;
    bool have_method = false;
    std::optional<int32_t> num_tokens, lookup_min, lookup_max;
    for (auto field : obj) {
        const std::string key(field.key);
        if (key == "method") {
            std::string_view s;
            if (field.value.get_string().get(s))
                return make_error("speculative_config: 'method' must be a string");
            if (s != "ngram" && s != "[ngram]")
                return make_error(
                    "speculative_config: 'method' must be 'ngram' (the only proposer; draft "
                    "models, EAGLE and MTP are not implemented), got '%.*s'",
                    static_cast<int>(s.size()), s.data());
            have_method = true;
        } else if (key == "num_speculative_tokens") {
            auto v = int_field(field.value, "num_speculative_tokens", 1, k_max_speculative_tokens);
            if (!v) return v.err();
            num_tokens = *v;
        } else if (key == "prompt_lookup_min") {
            auto v = int_field(field.value, "prompt_lookup_min", 1, k_max_prompt_lookup);
            if (!v) return v.err();
            lookup_min = *v;
        } else if (key == "prompt_lookup_max") {
            auto v = int_field(field.value, "prompt_lookup_max", 1, k_max_prompt_lookup);
            if (!v) return v.err();
            lookup_max = *v;
        } else {
            return make_error(
                "speculative_config: unknown key '%s' (known: method, num_speculative_tokens, "
                "prompt_lookup_max, prompt_lookup_min)",
                key.c_str());
        }
    }
    if (!have_method)
        return make_error("speculative_config: 'method' is required (\"ngram\")");
    if (!num_tokens) return make_error("speculative_config: 'num_speculative_tokens' is required");
    cfg.num_speculative_tokens = *num_tokens;
    // vLLM: neither bound given -> both 5; one given -> the other equals it.
    if (!lookup_min && !lookup_max) lookup_min = lookup_max = 5;
    if (!lookup_min) lookup_min = lookup_max;
    if (!lookup_max) lookup_max = lookup_min;
    if (*lookup_min > *lookup_max)
        return make_error(
            "speculative_config: 'prompt_lookup_min' (%d) must be <= 'prompt_lookup_max' (%d)",
            *lookup_min, *lookup_max);
    cfg.prompt_lookup_min = *lookup_min;
    cfg.prompt_lookup_max = *lookup_max;
    return cfg;
}

}  // namespace actorlm::core

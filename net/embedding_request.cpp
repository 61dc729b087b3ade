// /v1/embeddings body parsing (see embedding_request.hpp). `input` is read by the
// completions parser's read_prompt_inputs, so both endpoints take the same forms.
#include "net/embedding_request.hpp"

#include "net/json_fields.hpp"
#include "net/request_fields.hpp"

namespace actorlm::net {

std::optional<api_error> parse_embedding_request(std::string_view body, embedding_request& out) {
    out = embedding_request{};
    simdjson::dom::object obj;
    ACTORLM_NET_TRY(json::parse_object(thread_parser(), body, obj));
    bool have_input = false;
    bool add_special_tokens = true;
    for (auto field : obj) {
        const std::string_view key = field.key;
        const json::element v = field.value;
        if (json::is_null(v)) continue;
        if (key == "model") {
            ACTORLM_NET_TRY(json::get_string(v, key, out.model));
        } else if (key == "input") {
            ACTORLM_NET_TRY(read_prompt_inputs(v, key, out.inputs));
            have_input = true;
        } else if (key == "encoding_format") {
            std::string format;
            ACTORLM_NET_TRY(json::get_string(v, key, format));
            if (format == "float") {
                out.encoding = embedding_encoding::float_array;
            } else if (format == "base64") {
                out.encoding = embedding_encoding::base64;
            } else {
                return json::value_error(key, "must be 'float' or 'base64', got '" + format + "'");
            }
        } else if (key == "dimensions") {
            int32_t dims = 0;
            ACTORLM_NET_TRY(json::get_int32(v, key, dims));
            if (dims < 1) return json::value_error(key, "must be at least 1");
            out.dimensions = dims;
        } else if (key == "truncate_prompt_tokens") {
            int32_t keep = 0;
            ACTORLM_NET_TRY(json::get_int32(v, key, keep));
            // vLLM takes >= -1; 0 would leave nothing to pool, so it is refused here.
            if (keep < -1 || keep == 0) return json::value_error(key, "must be -1 or at least 1");
            out.truncate_prompt_tokens = keep;
        } else if (key == "add_special_tokens") {
            ACTORLM_NET_TRY(json::get_bool(v, key, add_special_tokens));
        }
        // `user` and unknown fields are ignored, as vLLM ignores them.
    }
    if (!have_input)
        return invalid_request("Missing required parameter: 'input'.", "input",
                               "missing_required_parameter");
    for (auto& req : out.inputs) {
        req.add_special_tokens = add_special_tokens;
        req.params.pooling = pooling_params{};
    }
    return std::nullopt;
}

std::optional<api_error> resolve_truncation(embedding_request& req, int32_t max_model_len) {
    if (!req.truncate_prompt_tokens) return std::nullopt;
    int32_t& keep = *req.truncate_prompt_tokens;
    if (keep == -1) {
        if (max_model_len <= 0)
            return invalid_request("truncate_prompt_tokens -1 needs the model's maximum length, "
                                   "which this server does not know.",
                                   "truncate_prompt_tokens");
        keep = max_model_len;
    }
    if (max_model_len > 0 && keep > max_model_len)
        return invalid_request("truncate_prompt_tokens value (" + std::to_string(keep) +
                                   ") is greater than max_model_len (" +
                                   std::to_string(max_model_len) +
                                   "). Please, select a smaller truncation size.",
                               "truncate_prompt_tokens");
    return std::nullopt;
}

void truncate_prompt(generate_request& req, int32_t num_tokens) {
    auto& ids = req.prompt_token_ids;
    if (num_tokens < 0 || ids.size() <= static_cast<size_t>(num_tokens)) return;
    ids.erase(ids.begin(), ids.end() - num_tokens);
    // engine::prepare_prompt's result holds the whole prompt and would run instead of the
    // ids; without it the engine runs prompt_token_ids as they now are.
    req.prepared.reset();
}

}  // namespace actorlm::net

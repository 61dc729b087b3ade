// /v1/chat/completions body parsing: messages (string or text-part content),
// tools, chat-style logprobs and max_completion_tokens; the shared sampling
// fields come from request_fields.cpp.
#include "net/openai_protocol.hpp"
#include "net/request_fields.hpp"

namespace actorlm::net {

using json::maybe_error;
using simdjson::dom::element_type;

namespace {

bool known_role(std::string_view role) {
    return role == "system" || role == "user" || role == "assistant" || role == "tool" ||
           role == "developer" || role == "function";
}

// content: a string, null (assistant with tool calls) or [{type: "text", text}].
maybe_error read_content(json::element v, const std::string& name, std::string& out) {
    if (json::is_null(v)) return std::nullopt;
    if (v.type() == element_type::STRING) {
        out = std::string(v.get_string().value_unsafe());
        return std::nullopt;
    }
    if (v.type() != element_type::ARRAY)
        return json::type_error(name, "a string or an array of content parts", v);
    const simdjson::dom::array items = v.get_array().value_unsafe();
    for (json::element part : items) {
        simdjson::dom::object obj;
        if (part.get_object().get(obj)) return json::type_error(name + "[]", "an object", part);
        std::string_view type;
        if (obj["type"].get_string().get(type))
            return invalid_request("Missing required parameter: '" + name + "[].type'.", name,
                                   "missing_required_parameter");
        if (type != "text")
            return invalid_request(
                "Content part type '" + std::string(type) + "' is not supported; only 'text' is.",
                name, "unsupported_content_type");
        std::string_view text;
        if (obj["text"].get_string().get(text))
            return invalid_request("Missing required parameter: '" + name + "[].text'.", name,
                                   "missing_required_parameter");
        // vLLM joins text parts with newlines.
        if (!out.empty()) out.push_back('\n');
        out.append(text);
    }
    return std::nullopt;
}

}  // namespace

maybe_error parse_chat_messages(json::element v, std::vector<chat_message>& out) {
    out.clear();
    if (v.type() != element_type::ARRAY) return json::type_error("messages", "an array", v);
    size_t index = 0;
    const simdjson::dom::array items = v.get_array().value_unsafe();
    for (json::element item : items) {
        const std::string name = "messages[" + std::to_string(index++) + "]";
        simdjson::dom::object obj;
        if (item.get_object().get(obj)) return json::type_error(name, "an object", item);
        chat_message msg;
        bool have_role = false;
        bool have_content = false;  // a non-null content ("" counts)
        bool have_tool_calls = false;
        for (auto field : obj) {
            const std::string_view key = field.key;
            if (json::is_null(field.value) && key != "content") continue;
            if (key == "role") {
                ACTORLM_NET_TRY(json::get_string(field.value, name + ".role", msg.role));
                if (!known_role(msg.role))
                    return json::value_error(name + ".role", "unknown role '" + msg.role + "'");
                have_role = true;
            } else if (key == "content") {
                ACTORLM_NET_TRY(read_content(field.value, name + ".content", msg.content));
                have_content = !json::is_null(field.value);
            } else if (key == "name") {
                ACTORLM_NET_TRY(json::get_string(field.value, name + ".name", msg.name));
            } else if (key == "tool_call_id") {
                ACTORLM_NET_TRY(
                    json::get_string(field.value, name + ".tool_call_id", msg.tool_call_id));
            } else if (key == "tool_calls") {
                if (field.value.type() != element_type::ARRAY)
                    return json::type_error(name + ".tool_calls", "an array", field.value);
                msg.tool_calls_json = simdjson::minify(field.value);
                have_tool_calls = true;
            }
        }
        if (!have_role)
            return invalid_request("Missing required parameter: '" + name + ".role'.",
                                   name + ".role", "missing_required_parameter");
        // OpenAI and vLLM: only an assistant turn that calls tools may omit its content.
        if (!have_content && !(have_tool_calls && msg.role == "assistant"))
            return invalid_request("Missing required parameter: '" + name + ".content'.",
                                   name + ".content", "missing_required_parameter");
        out.push_back(std::move(msg));
    }
    if (out.empty()) return json::value_error("messages", "must contain at least one message");
    return std::nullopt;
}

maybe_error parse_chat_request(std::string_view body, openai_request& out) {
    out = openai_request{};
    out.kind = endpoint_kind::chat;
    simdjson::dom::object obj;
    ACTORLM_NET_TRY(json::parse_object(thread_parser(), body, obj));
    common_fields f;
    f.params.max_tokens = -1;  // chat default: up to the model length
    generate_request req;
    bool have_messages = false;
    bool logprobs = false;
    int32_t top_logprobs = -1;
    int32_t max_completion_tokens = -1;
    for (auto field : obj) {
        const std::string_view key = field.key;
        const json::element v = field.value;
        if (json::is_null(v)) continue;
        maybe_error err;
        if (read_common_field(key, v, f, err)) {
            if (err) return err;
        } else if (key == "messages") {
            ACTORLM_NET_TRY(parse_chat_messages(v, req.messages));
            have_messages = true;
        } else if (key == "tools") {
            if (v.type() != element_type::ARRAY) return json::type_error(key, "an array", v);
            req.tools_json = simdjson::minify(v);
        } else if (key == "logprobs") {
            ACTORLM_NET_TRY(json::get_bool(v, key, logprobs));
        } else if (key == "top_logprobs") {
            ACTORLM_NET_TRY(json::get_int32(v, key, top_logprobs));
            if (top_logprobs < 0 || top_logprobs > k_max_logprobs)
                return json::value_error(key, "must be in [0, " + std::to_string(k_max_logprobs) +
                                                  "], got " + std::to_string(top_logprobs));
        } else if (key == "max_completion_tokens") {
            ACTORLM_NET_TRY(json::get_int32(v, key, max_completion_tokens));
            if (max_completion_tokens < 1)
                return json::value_error(
                    key, "must be at least 1, got " + std::to_string(max_completion_tokens));
        } else if (key == "add_generation_prompt") {
            ACTORLM_NET_TRY(json::get_bool(v, key, req.add_generation_prompt));
        }
    }
    if (!have_messages)
        return invalid_request("Missing required parameter: 'messages'.", "messages",
                               "missing_required_parameter");
    if (top_logprobs >= 0 && !logprobs)
        return invalid_request("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs",
                               "invalid_value");
    if (max_completion_tokens > 0) {  // the newer name wins, as in OpenAI's API
        f.params.max_tokens = max_completion_tokens;
        f.max_tokens_set = true;
    }
    if (logprobs) {
        out.want_logprobs = true;
        out.top_logprobs = std::max(top_logprobs, 0);
        f.params.logprobs = out.top_logprobs;
    }
    out.prompts.push_back(std::move(req));
    return finish_generation_request(f, out);
}

}  // namespace actorlm::net

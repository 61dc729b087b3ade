// /v1/chat/completions body parsing: messages (string content or text and image_url
// parts), tools, chat-style logprobs and max_completion_tokens; the shared sampling
// fields come from request_fields.cpp. Image URLs are checked here (data: URLs decoded);
// fetching http(s)/file URLs is the router's, after its cheap checks.
#include "net/media_url.hpp"
#include "net/openai_protocol.hpp"
#include "net/request_fields.hpp"
#include "net/tool_request_fields.hpp"

namespace actorlm::net {

using json::maybe_error;
using simdjson::dom::element_type;

namespace {

bool known_role(std::string_view role) {
    return role == "system" || role == "user" || role == "assistant" || role == "tool" ||
           role == "developer" || role == "function";
}

// One image_url part: {"type": "image_url", "image_url": {"url", "detail"?}}, or vLLM's
// shorthand without a type, {"image_url": "URL"} (vLLM also takes {"image_url": {"url"}}
// there). data: URLs are decoded here; http(s) and file URLs keep their URL as the
// source and are fetched by the router (media_fetch) once the request passed its checks.
maybe_error read_image_part(simdjson::dom::object obj, bool typed, const std::string& name,
                            content_part& out) {
    json::element v;
    if (obj["image_url"].get(v) || json::is_null(v))
        return invalid_request("Missing required parameter: '" + name + ".image_url'.",
                               name + ".image_url", "missing_required_parameter");
    std::string_view url;
    if (v.type() == element_type::STRING && !typed) {
        url = v.get_string().value_unsafe();
    } else if (v.type() == element_type::OBJECT) {
        if (v["url"].get_string().get(url))
            return invalid_request("Missing required parameter: '" + name + ".image_url.url'.",
                                   name + ".image_url.url", "missing_required_parameter");
        std::string_view detail;
        if (!v["detail"].get_string().get(detail) && detail != "auto" && detail != "low" &&
            detail != "high")
            return json::value_error(
                name + ".image_url.detail",
                "must be 'auto', 'low' or 'high', got '" + std::string(detail) + "'");
    } else {
        return json::type_error(name + ".image_url", "an object with a 'url'", v);
    }
    out.type = content_part::kind::image;
    switch (classify_media_url(url)) {
        case media_url_kind::data: {
            auto bytes = decode_data_url(url, "image/");
            if (!bytes)
                return invalid_request("Invalid image in '" + name + "': " + bytes.message(),
                                       name + ".image_url.url", "invalid_image_url");
            out.image.data = std::move(bytes.value());
            out.image.source = describe_media_url(url);
            break;
        }
        case media_url_kind::http:
        case media_url_kind::file: out.image.source = std::string(url); break;
        case media_url_kind::unsupported:
            return invalid_request("Invalid image in '" + name +
                                       "': the URL must be an http(s), data or file URL, got " +
                                       describe_media_url(url),
                                   name + ".image_url.url", "invalid_image_url");
    }
    return std::nullopt;
}

// content: a string, null (assistant with tool calls) or a list of parts: text and
// image_url. Text parts join into msg.content; with an image, msg.parts keeps them all
// in order.
maybe_error read_content(json::element v, const std::string& name, chat_message& msg) {
    if (json::is_null(v)) return std::nullopt;
    if (v.type() == element_type::STRING) {
        msg.content = std::string(v.get_string().value_unsafe());
        return std::nullopt;
    }
    if (v.type() != element_type::ARRAY)
        return json::type_error(name, "a string or an array of content parts", v);
    const simdjson::dom::array items = v.get_array().value_unsafe();
    std::vector<content_part> parts;
    bool any_image = false;
    size_t index = 0;
    for (json::element part : items) {
        const std::string part_name = name + "[" + std::to_string(index++) + "]";
        simdjson::dom::object obj;
        if (part.get_object().get(obj)) return json::type_error(part_name, "an object", part);
        std::string_view type;
        const bool typed = !obj["type"].get_string().get(type);
        content_part cp;
        if (!typed && obj["image_url"].error() == simdjson::SUCCESS) {
            ACTORLM_NET_TRY(read_image_part(obj, false, part_name, cp));
        } else if (!typed) {
            return invalid_request("Missing required parameter: '" + part_name + ".type'.",
                                   part_name + ".type", "missing_required_parameter");
        } else if (type == "image_url") {
            ACTORLM_NET_TRY(read_image_part(obj, true, part_name, cp));
        } else if (type == "text") {
            std::string_view text;
            if (obj["text"].get_string().get(text))
                return invalid_request("Missing required parameter: '" + part_name + ".text'.",
                                       part_name + ".text", "missing_required_parameter");
            cp.text = std::string(text);
            // vLLM joins text parts with newlines.
            if (!msg.content.empty()) msg.content.push_back('\n');
            msg.content.append(text);
        } else {
            return invalid_request("Content part type '" + std::string(type) +
                                       "' is not supported; only 'text' and 'image_url' are.",
                                   part_name + ".type", "unsupported_content_type");
        }
        any_image = any_image || cp.type == content_part::kind::image;
        parts.push_back(std::move(cp));
    }
    if (any_image) msg.parts = std::move(parts);
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
                ACTORLM_NET_TRY(read_content(field.value, name + ".content", msg));
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
    std::vector<tool_definition> tools;
    bool tools_sent = false;
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
            ACTORLM_NET_TRY(read_tools(v, tools));
            req.tools_json = simdjson::minify(v);
            tools_sent = true;
        } else if (key == "tool_choice") {
            ACTORLM_NET_TRY(read_tool_choice(v, out.tools));
        } else if (key == "parallel_tool_calls") {
            ACTORLM_NET_TRY(json::get_bool(v, key, out.tools.parallel_tool_calls));
        } else if (key == "include_reasoning") {
            ACTORLM_NET_TRY(json::get_bool(v, key, out.tools.include_reasoning));
        } else if (key == "chat_template_kwargs") {
            // Extra template variables (enable_thinking, ...), passed to the template as is.
            if (v.type() != element_type::OBJECT) return json::type_error(key, "an object", v);
            req.chat_template_kwargs_json = simdjson::minify(v);
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
    ACTORLM_NET_TRY(resolve_tool_choice(tools_sent, tools, f, out.tools));
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

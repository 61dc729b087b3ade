// tool_request_fields: tools / tool_choice reading and the forced-call schema (see
// tool_request_fields.hpp). Error wording follows vLLM's ChatCompletionRequest checks.
#include "net/tool_request_fields.hpp"

#include <map>
#include <string>
#include <vector>

#include "net/json_writer.hpp"

namespace actorlm::net {

using json::maybe_error;
using simdjson::dom::element_type;

namespace {

const char* const k_named_choice_usage =
    "Correct usage: `{\"type\": \"function\", \"function\": {\"name\": \"my_function\"}}`";

// A function without a parameters schema takes any object (vLLM's default schema).
std::string parameters_or_any(const tool_definition& t) {
    return t.parameters_json.empty() ? std::string(R"({"type":"object"})") : t.parameters_json;
}

}  // namespace

maybe_error read_tools(json::element v, std::vector<tool_definition>& out) {
    if (v.type() != element_type::ARRAY) return json::type_error("tools", "an array", v);
    out.clear();
    size_t index = 0;
    const simdjson::dom::array items = v.get_array().value_unsafe();
    for (json::element item : items) {
        const std::string name = "tools[" + std::to_string(index++) + "]";
        simdjson::dom::object obj;
        if (item.get_object().get(obj)) return json::type_error(name, "an object", item);
        std::string type;
        json::element type_el;
        if (obj["type"].get(type_el) || json::is_null(type_el))
            return invalid_request("Missing required parameter: '" + name + ".type'.",
                                   name + ".type", "missing_required_parameter");
        ACTORLM_NET_TRY(json::get_string(type_el, name + ".type", type));
        if (type != "function")
            return json::value_error(name + ".type", "must be 'function', got '" + type + "'");
        simdjson::dom::object fn;
        json::element fn_el;
        if (obj["function"].get(fn_el) || json::is_null(fn_el))
            return invalid_request("Missing required parameter: '" + name + ".function'.",
                                   name + ".function", "missing_required_parameter");
        if (fn_el.get_object().get(fn))
            return json::type_error(name + ".function", "an object", fn_el);
        tool_definition def;
        json::element name_el;
        if (fn["name"].get(name_el) || json::is_null(name_el))
            return invalid_request("Missing required parameter: '" + name + ".function.name'.",
                                   name + ".function.name", "missing_required_parameter");
        ACTORLM_NET_TRY(json::get_string(name_el, name + ".function.name", def.name));
        if (def.name.empty())
            return json::value_error(name + ".function.name", "must not be empty");
        json::element params;
        if (!fn["parameters"].get(params) && !json::is_null(params)) {
            if (params.type() != element_type::OBJECT)
                return json::type_error(name + ".function.parameters", "a JSON schema (object)",
                                        params);
            def.parameters_json = simdjson::minify(params);
        }
        out.push_back(std::move(def));
    }
    return std::nullopt;
}

maybe_error read_tool_choice(json::element v, chat_tool_options& out) {
    out.tool_choice_sent = true;
    if (v.type() == element_type::STRING) {
        const std::string_view s = v.get_string().value_unsafe();
        if (s == "none")
            out.tool_choice = chat_tool_options::choice::none;
        else if (s == "auto")
            out.tool_choice = chat_tool_options::choice::automatic;
        else if (s == "required")
            out.tool_choice = chat_tool_options::choice::required;
        else
            return json::value_error("tool_choice", "invalid value '" + std::string(s) +
                                                        "'; only named tools, \"none\", \"auto\" "
                                                        "or \"required\" are supported");
        return std::nullopt;
    }
    simdjson::dom::object obj;
    if (v.get_object().get(obj))
        return json::type_error("tool_choice", "\"none\", \"auto\", \"required\" or an object", v);
    json::element fn_el;
    simdjson::dom::object fn;
    if (obj["function"].get(fn_el) || fn_el.get_object().get(fn))
        return json::value_error(
            "tool_choice.function",
            std::string("must be an object with a 'name'. ") + k_named_choice_usage);
    json::element name_el;
    if (fn["name"].get(name_el) || name_el.type() != element_type::STRING ||
        name_el.get_string().value_unsafe().empty())
        return json::value_error(
            "tool_choice.function.name",
            std::string("must be a non-empty string. ") + k_named_choice_usage);
    out.tool_choice = chat_tool_options::choice::named;
    out.function_name = std::string(name_el.get_string().value_unsafe());
    return std::nullopt;
}

maybe_error forced_tool_schema(const std::vector<tool_definition>& tools, bool parallel,
                               std::string& schema) {
    // Definitions by section ("$defs", "definitions") and name, as minified JSON.
    std::map<std::string, std::map<std::string, std::string>> hoisted;
    std::vector<std::string> parameters;  // each tool's schema without its definitions
    simdjson::dom::parser parser;
    for (size_t i = 0; i < tools.size(); ++i) {
        const std::string text = parameters_or_any(tools[i]);
        simdjson::dom::object obj;
        if (parser.parse(text).get(obj)) {  // not an object: the schema compiler says why
            parameters.push_back(text);
            continue;
        }
        json_writer w;
        w.begin_object();
        for (auto field : obj) {
            const std::string key(field.key);
            simdjson::dom::object defs;
            if ((key != "$defs" && key != "definitions") || field.value.get(defs)) {
                w.key(key).raw(simdjson::minify(field.value));
                continue;
            }
            for (auto def : defs) {
                const std::string name(def.key);
                const std::string body = simdjson::minify(def.value);
                auto [it, added] = hoisted[key].emplace(name, body);
                if (!added && it->second != body)
                    return json::value_error(
                        "tools[" + std::to_string(i) + "].function.parameters",
                        "defines '" + key + "/" + name +
                            "' differently from another tool; tool_choice \"required\" "
                            "shares one set of definitions between the tools");
            }
        }
        w.end_object();
        parameters.push_back(w.take());
    }
    json_writer w;
    w.begin_object().field("type", "array").field("minItems", 1);
    if (!parallel) w.field("maxItems", 1);
    w.key("items").begin_object().key("anyOf").begin_array();
    for (size_t i = 0; i < tools.size(); ++i) {
        w.begin_object().field("type", "object").key("properties").begin_object();
        w.key("name").begin_object().field("type", "string").key("enum").begin_array();
        w.value(tools[i].name).end_array().end_object();
        w.key("parameters").raw(parameters[i]);
        w.end_object();
        w.key("required").begin_array().value("name").value("parameters").end_array();
        w.end_object();
    }
    w.end_array().end_object();
    for (const auto& [section, defs] : hoisted) {
        w.key(section).begin_object();
        for (const auto& [name, body] : defs) w.key(name).raw(body);
        w.end_object();
    }
    w.end_object();
    schema = w.take();
    return std::nullopt;
}

maybe_error resolve_tool_choice(bool tools_sent, const std::vector<tool_definition>& tools,
                                common_fields& f, chat_tool_options& out) {
    using choice = chat_tool_options::choice;
    for (const auto& t : tools) out.function_names.push_back(t.name);
    if (!out.tool_choice_sent) {
        out.tool_choice = tools.empty() ? choice::none : choice::automatic;
        return std::nullopt;
    }
    if (out.tool_choice == choice::none) return std::nullopt;
    if (!tools_sent)
        return invalid_request("When using `tool_choice`, `tools` must be set.", "tool_choice");
    if (out.tool_choice == choice::required && tools.empty()) {
        out.tool_choice = choice::none;  // vLLM: nothing to require
        return std::nullopt;
    }
    structured_output_params so;
    so.type = structured_output_params::kind::json_schema;
    if (out.tool_choice == choice::named) {
        const tool_definition* named = nullptr;
        for (const auto& t : tools)
            if (t.name == out.function_name) named = &t;
        if (!named)
            return invalid_request("The tool specified in `tool_choice` ('" + out.function_name +
                                       "') does not match any of the specified `tools`.",
                                   "tool_choice");
        so.spec = parameters_or_any(*named);
    } else if (out.tool_choice == choice::required) {
        if (auto err = forced_tool_schema(tools, out.parallel_tool_calls, so.spec)) return err;
    } else {
        return std::nullopt;  // auto: the server's parser reads the calls
    }
    if (f.params.structured_output.active())
        return json::value_error("tool_choice", "a forced tool call cannot be combined with '" +
                                                    f.structured_output_field +
                                                    "' (both constrain the output)");
    f.params.structured_output = std::move(so);
    f.structured_output_field = "tools";
    return std::nullopt;
}

}  // namespace actorlm::net

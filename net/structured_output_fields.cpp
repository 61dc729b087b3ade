// structured_output_fields: response_format / structured_outputs / guided_* -> the
// request's structured_output_params. Schemas are passed on as JSON text; the engine
// compiles them (and check_sampling_params reports what it cannot constrain).
#include "net/structured_output_fields.hpp"

namespace actorlm::net {

using json::maybe_error;
using kind = structured_output_params::kind;

namespace {

maybe_error set_constraint(common_fields& f, std::string_view field, structured_output_params so) {
    if (f.params.structured_output.active())
        return json::value_error(field, "only one structured output constraint may be given ('" +
                                            f.structured_output_field + "' sets one already)");
    f.params.structured_output = std::move(so);
    f.structured_output_field = std::string(field);
    return std::nullopt;
}

// A schema given as an object (or boolean), or as a string holding its JSON text (vLLM
// accepts both for guided_json and structured_outputs.json).
maybe_error read_schema(json::element v, std::string_view name, std::string& out) {
    if (v.type() == simdjson::dom::element_type::STRING) {
        out = std::string(v.get_string().value());
        return std::nullopt;
    }
    if (v.type() != simdjson::dom::element_type::OBJECT &&
        v.type() != simdjson::dom::element_type::BOOL)
        return json::type_error(name, "a JSON schema (object)", v);
    out = simdjson::to_string(v);
    return std::nullopt;
}

maybe_error read_choices(json::element v, std::string_view name, std::vector<std::string>& out) {
    simdjson::dom::array list;
    if (v.get_array().get(list)) return json::type_error(name, "an array of strings", v);
    out.clear();
    for (json::element c : list) {
        std::string s;
        ACTORLM_NET_TRY(json::get_string(c, name, s));
        out.push_back(std::move(s));
    }
    if (out.empty()) return json::value_error(name, "must list at least one choice");
    return std::nullopt;
}

maybe_error read_response_format(json::element v, common_fields& f) {
    simdjson::dom::object obj;
    if (v.get_object().get(obj)) return json::type_error("response_format", "an object", v);
    json::element type_el;
    if (obj["type"].get(type_el)) return json::value_error("response_format.type", "is required");
    std::string type;
    ACTORLM_NET_TRY(json::get_string(type_el, "response_format.type", type));
    structured_output_params so;
    if (type == "text") return std::nullopt;
    if (type == "json_object") {
        so.type = kind::json_object;
        return set_constraint(f, "response_format", std::move(so));
    }
    if (type != "json_schema")
        return json::value_error("response_format.type",
                                 "must be 'text', 'json_object' or 'json_schema', got '" + type + "'");
    simdjson::dom::object js;
    json::element js_el;
    if (obj["json_schema"].get(js_el) || js_el.get_object().get(js))
        return json::value_error("response_format.json_schema",
                                 "is required (an object with 'name' and 'schema') when type is "
                                 "'json_schema'");
    json::element schema;
    if (js["schema"].get(schema))
        return json::value_error("response_format.json_schema.schema", "is required");
    // `strict` needs no handling: the output always follows the schema exactly.
    so.type = kind::json_schema;
    ACTORLM_NET_TRY(read_schema(schema, "response_format.json_schema.schema", so.spec));
    return set_constraint(f, "response_format", std::move(so));
}

maybe_error read_structured_outputs(json::element v, common_fields& f) {
    if (json::is_null(v)) return std::nullopt;
    simdjson::dom::object obj;
    if (v.get_object().get(obj)) return json::type_error("structured_outputs", "an object", v);
    structured_output_params so;
    std::string which;
    for (auto field : obj) {
        if (json::is_null(field.value)) continue;
        const std::string name = "structured_outputs." + std::string(field.key);
        const std::string_view k = field.key;
        structured_output_params one;
        if (k == "json") {
            one.type = kind::json_schema;
            ACTORLM_NET_TRY(read_schema(field.value, name, one.spec));
        } else if (k == "regex") {
            one.type = kind::regex;
            ACTORLM_NET_TRY(json::get_string(field.value, name, one.spec));
        } else if (k == "choice") {
            one.type = kind::choice;
            ACTORLM_NET_TRY(read_choices(field.value, name, one.choices));
        } else if (k == "grammar") {
            one.type = kind::grammar;
            ACTORLM_NET_TRY(json::get_string(field.value, name, one.spec));
        } else if (k == "json_object") {
            bool on = false;
            ACTORLM_NET_TRY(json::get_bool(field.value, name, on));
            if (!on) continue;
            one.type = kind::json_object;
        } else if (k == "disable_fallback" || k == "disable_any_whitespace" ||
                   k == "disable_additional_properties") {
            // Backend tuning flags of vLLM: our engine has one backend, compact whitespace
            // and, for schemas with properties, no additional properties already.
            bool ignored = false;
            ACTORLM_NET_TRY(json::get_bool(field.value, name, ignored));
            continue;
        } else if (k == "whitespace_pattern" || k == "structural_tag") {
            return json::value_error(name, "is not supported");
        } else {
            return json::value_error(name, "is not a structured output key (json, regex, "
                                           "choice, grammar, json_object)");
        }
        if (so.active())
            return json::value_error(name, "only one of json, regex, choice, grammar and "
                                           "json_object may be given ('" + which + "' is set)");
        so = std::move(one);
        which = std::string(k);
    }
    if (!so.active()) return std::nullopt;
    return set_constraint(f, "structured_outputs", std::move(so));
}

}  // namespace

bool read_structured_output_field(std::string_view key, json::element v, common_fields& f,
                                  json::maybe_error& err) {
    err.reset();
    if (key == "response_format") {
        if (!json::is_null(v)) err = read_response_format(v, f);
        return true;
    }
    if (key == "structured_outputs") {
        err = read_structured_outputs(v, f);
        return true;
    }
    if (key == "guided_decoding_backend") return true;  // one backend here
    if (key == "guided_whitespace_pattern") {
        if (!json::is_null(v)) err = json::value_error(key, "is not supported");
        return true;
    }
    if (key != "guided_json" && key != "guided_regex" && key != "guided_choice" &&
        key != "guided_grammar")
        return false;
    if (json::is_null(v)) return true;
    structured_output_params so;
    if (key == "guided_json") {
        so.type = kind::json_schema;
        err = read_schema(v, key, so.spec);
    } else if (key == "guided_regex") {
        so.type = kind::regex;
        err = json::get_string(v, key, so.spec);
    } else if (key == "guided_choice") {
        so.type = kind::choice;
        err = read_choices(v, key, so.choices);
    } else {
        so.type = kind::grammar;
        err = json::get_string(v, key, so.spec);
    }
    if (!err) err = set_constraint(f, key, std::move(so));
    return true;
}

}  // namespace actorlm::net

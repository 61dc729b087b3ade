// Typed simdjson field readers with OpenAI-worded errors (see json_fields.hpp).
#include "net/json_fields.hpp"

#include <cmath>
#include <limits>

namespace actorlm::net::json {

using simdjson::dom::element_type;

bool is_null(element e) { return e.type() == element_type::NULL_VALUE; }

const char* type_name(element e) {
    switch (e.type()) {
        case element_type::ARRAY: return "an array";
        case element_type::OBJECT: return "an object";
        case element_type::INT64:
        case element_type::UINT64: return "an integer";
        case element_type::DOUBLE: return "a decimal";
        case element_type::STRING: return "a string";
        case element_type::BOOL: return "a boolean";
        case element_type::NULL_VALUE: return "null";
    }
    return "an unknown value";
}

api_error type_error(std::string_view name, std::string_view expected, element got) {
    return invalid_request("Invalid type for '" + std::string(name) + "': expected " +
                               std::string(expected) + ", but got " + type_name(got) + " instead.",
                           std::string(name), "invalid_type");
}

api_error value_error(std::string_view name, std::string_view what) {
    return invalid_request("Invalid '" + std::string(name) + "': " + std::string(what) + ".",
                           std::string(name), "invalid_value");
}

maybe_error get_bool(element e, std::string_view name, bool& out) {
    if (e.type() != element_type::BOOL) return type_error(name, "a boolean", e);
    out = e.get_bool().value_unsafe();
    return std::nullopt;
}

maybe_error get_int64(element e, std::string_view name, int64_t& out) {
    switch (e.type()) {
        case element_type::INT64: out = e.get_int64().value_unsafe(); return std::nullopt;
        case element_type::UINT64: return value_error(name, "integer is too large");
        case element_type::DOUBLE: {
            const double d = e.get_double().value_unsafe();
            if (std::floor(d) != d || std::fabs(d) > 9.0e15)
                return type_error(name, "an integer", e);
            out = static_cast<int64_t>(d);
            return std::nullopt;
        }
        default: return type_error(name, "an integer", e);
    }
}

maybe_error get_int32(element e, std::string_view name, int32_t& out) {
    int64_t v = 0;
    ACTORLM_NET_TRY(get_int64(e, name, v));
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        return value_error(name, "integer is out of range");
    out = static_cast<int32_t>(v);
    return std::nullopt;
}

maybe_error get_uint64(element e, std::string_view name, uint64_t& out) {
    switch (e.type()) {
        case element_type::UINT64: out = e.get_uint64().value_unsafe(); return std::nullopt;
        case element_type::INT64: {
            // vLLM accepts negative seeds; they map onto the unsigned range bit-for-bit.
            out = static_cast<uint64_t>(e.get_int64().value_unsafe());
            return std::nullopt;
        }
        default: {
            int64_t v = 0;
            ACTORLM_NET_TRY(get_int64(e, name, v));
            out = static_cast<uint64_t>(v);
            return std::nullopt;
        }
    }
}

maybe_error get_double(element e, std::string_view name, double& out) {
    const auto t = e.type();
    if (t != element_type::DOUBLE && t != element_type::INT64 && t != element_type::UINT64)
        return type_error(name, "a number", e);
    out = e.get_double().value_unsafe();
    return std::nullopt;
}

maybe_error get_float(element e, std::string_view name, float& out) {
    double d = 0;
    ACTORLM_NET_TRY(get_double(e, name, d));
    if (std::fabs(d) > 3.0e38) return value_error(name, "number is out of range");
    out = static_cast<float>(d);
    return std::nullopt;
}

maybe_error get_string(element e, std::string_view name, std::string& out) {
    if (e.type() != element_type::STRING) return type_error(name, "a string", e);
    out = std::string(e.get_string().value_unsafe());
    return std::nullopt;
}

maybe_error get_string_or_list(element e, std::string_view name, std::vector<std::string>& out) {
    out.clear();
    if (e.type() == element_type::STRING) {
        out.emplace_back(e.get_string().value_unsafe());
        return std::nullopt;
    }
    if (e.type() != element_type::ARRAY) return type_error(name, "a string or an array", e);
    const simdjson::dom::array items = e.get_array().value_unsafe();
    for (element item : items) {
        if (item.type() != element_type::STRING)
            return type_error(std::string(name) + "[]", "a string", item);
        out.emplace_back(item.get_string().value_unsafe());
    }
    return std::nullopt;
}

maybe_error get_token_list(element e, std::string_view name, std::vector<int32_t>& out) {
    out.clear();
    if (e.type() != element_type::ARRAY) return type_error(name, "an array of token ids", e);
    const simdjson::dom::array items = e.get_array().value_unsafe();
    for (element item : items) {
        int32_t id = 0;
        ACTORLM_NET_TRY(get_int32(item, name, id));
        if (id < 0) return value_error(name, "token ids must be non-negative");
        out.push_back(id);
    }
    return std::nullopt;
}

maybe_error parse_object(simdjson::dom::parser& parser, std::string_view body,
                         simdjson::dom::object& out) {
    element root;
    if (auto err = parser.parse(body.data(), body.size(), true).get(root)) {
        return invalid_request(
            std::string("Request body is not valid JSON: ") + simdjson::error_message(err), "",
            "invalid_json");
    }
    if (root.type() != element_type::OBJECT)
        return invalid_request("Request body must be a JSON object.", "", "invalid_json");
    out = root.get_object().value_unsafe();
    return std::nullopt;
}

}  // namespace actorlm::net::json

// kv_transfer_config parsing with simdjson's DOM: every top-level key must be
// known, kv_role one of vLLM's three, extra config a flat object of scalars
// except "connectors", an array of whole configs (MultiConnector), parsed alike.
#include "kv/kv_transfer_config.hpp"

#include <simdjson.h>

#include <cctype>
#include <cmath>

#include "kv/kv_connector_registry.hpp"

namespace actorlm::kv {

namespace {

result<kv_transfer_config> parse_config(simdjson::dom::element doc);

/// "connectors": a non-empty array of configs.
status parse_connectors(simdjson::dom::element value, kv_transfer_config& cfg) {
    simdjson::dom::array list;
    if (value.get_array().get(list) || list.size() == 0)
        return make_error(
            "kv_transfer_config: kv_connector_extra_config key 'connectors' must be a "
            "non-empty array of kv_transfer_config objects");
    size_t i = 0;
    for (auto child : list) {
        auto c = parse_config(child);
        if (!c) return make_error("connectors[%zu]: %s", i, c.message().c_str());
        cfg.connectors.push_back(std::move(c).value());
        ++i;
    }
    return {};
}

result<kv_transfer_config> parse_config(simdjson::dom::element doc) {
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) return make_error("kv_transfer_config must be a JSON object");
    kv_transfer_config cfg;
    bool have_connector = false;
    for (auto field : obj) {
        const std::string key(field.key);
        if (key == "kv_connector") {
            std::string_view s;
            if (field.value.get_string().get(s) || s.empty())
                return make_error("kv_transfer_config: 'kv_connector' must be a non-empty string");
            cfg.kv_connector = std::string(s);
            have_connector = true;
        } else if (key == "kv_role") {
            std::string_view s;
            if (field.value.get_string().get(s))
                return make_error("kv_transfer_config: 'kv_role' must be a string");
            if (s == "kv_both")
                cfg.role = kv_role::both;
            else if (s == "kv_producer")
                cfg.role = kv_role::producer;
            else if (s == "kv_consumer")
                cfg.role = kv_role::consumer;
            else
                return make_error(
                    "kv_transfer_config: 'kv_role' must be 'kv_both', "
                    "'kv_producer' or 'kv_consumer', got '%.*s'",
                    static_cast<int>(s.size()), s.data());
        } else if (key == "kv_connector_extra_config") {
            simdjson::dom::object extra;
            if (field.value.get_object().get(extra))
                return make_error(
                    "kv_transfer_config: 'kv_connector_extra_config' must be an object");
            for (auto e : extra) {
                const std::string ek(e.key);
                if (ek == "connectors") {
                    ACTORLM_TRY(parse_connectors(e.value, cfg));
                    continue;
                }
                std::string v;
                switch (e.value.type()) {
                    case simdjson::dom::element_type::STRING:
                        v = std::string(e.value.get_string().value());
                        break;
                    case simdjson::dom::element_type::INT64:
                    case simdjson::dom::element_type::UINT64:
                    case simdjson::dom::element_type::DOUBLE:
                    case simdjson::dom::element_type::BOOL: v = simdjson::minify(e.value); break;
                    default:
                        return make_error(
                            "kv_transfer_config: kv_connector_extra_config key '%s' "
                            "must be a string, number or boolean",
                            ek.c_str());
                }
                cfg.extra[ek] = std::move(v);
            }
        } else {
            return make_error(
                "kv_transfer_config: unknown key '%s' (known: kv_connector, "
                "kv_role, kv_connector_extra_config)",
                key.c_str());
        }
    }
    if (!have_connector) return make_error("kv_transfer_config: 'kv_connector' is required");
    return cfg;
}

}  // namespace

result<kv_transfer_config> parse_kv_transfer_config(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::padded_string padded(json);
    if (auto err = parser.parse(padded).get(doc); err)
        return make_error("kv_transfer_config is not valid JSON: %s", simdjson::error_message(err));
    return parse_config(doc);
}

result<kv_transfer_config> parse_and_validate_kv_transfer_config(std::string_view json) {
    auto cfg = parse_kv_transfer_config(json);
    if (!cfg) return cfg.err();
    ACTORLM_TRY(validate_kv_connector_config(*cfg));
    return cfg;
}

result<int64_t> parse_byte_size(std::string_view key, std::string_view text) {
    size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
        ++i;
    const std::string num(text.substr(0, i));
    std::string unit(text.substr(i));
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    char* end = nullptr;
    const double v = num.empty() ? -1.0 : std::strtod(num.c_str(), &end);
    double mul = -1.0;
    if (unit.empty() || unit == "b")
        mul = 1.0;
    else if (unit == "k" || unit == "kb")
        mul = 1e3;
    else if (unit == "kib")
        mul = 1024.0;
    else if (unit == "m" || unit == "mb")
        mul = 1e6;
    else if (unit == "mib")
        mul = 1024.0 * 1024.0;
    else if (unit == "g" || unit == "gb")
        mul = 1e9;
    else if (unit == "gib")
        mul = 1024.0 * 1024.0 * 1024.0;
    else if (unit == "t" || unit == "tb")
        mul = 1e12;
    else if (unit == "tib")
        mul = 1024.0 * 1024.0 * 1024.0 * 1024.0;
    if (v < 0.0 || mul < 0.0 || end == nullptr || *end != '\0' || !std::isfinite(v * mul) ||
        v * mul > 9.0e18)
        return make_error(
            "kv_transfer_config: '%.*s' must be a byte size such as 1073741824 or "
            "\"64GiB\", got '%.*s'",
            static_cast<int>(key.size()), key.data(), static_cast<int>(text.size()), text.data());
    return static_cast<int64_t>(v * mul);
}

}  // namespace actorlm::kv

// JSON in and out of Jinja values: parsing chat inputs (simdjson) and the `tojson`
// filter, which HF transformers defines as Python's json.dumps(x, ensure_ascii=False,
// indent=..., separators=..., sort_keys=...). Stateless; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "chat/jinja_value.hpp"
#include "base/result.hpp"

namespace actorlm::jinja {

/// json.dumps options. With indent set and no separators, Python uses (",", ": ").
struct json_options {
    std::optional<std::string> indent;  ///< the indent unit; nullopt = single line
    std::string item_separator = ", ";
    std::string key_separator = ": ";
    bool sort_keys = false;
    bool ensure_ascii = false;
};

/// Python json.dumps(v, ...); raises jinja_error for values JSON cannot hold (Undefined).
std::string to_json(const value& v, const json_options& options = {});

/// Parses JSON text into a value (objects keep their key order; "1" is an int, "1.0" a
/// float, as Python's json.loads gives them).
result<value> value_from_json(std::string_view json_text);

}  // namespace actorlm::jinja

// Typed field readers over simdjson DOM elements for the OpenAI parsers. Each
// returns an api_error worded like OpenAI's ("Invalid type for 'n': expected an
// integer, but got a string instead.") naming the field, so every parser reports
// wrong types the same way. Stateless; safe from any thread.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/api_error.hpp"

namespace actorlm::net::json {

using simdjson::dom::element;
using maybe_error = std::optional<api_error>;

/// Returns early from the enclosing function when `expr` yields an error.
#define ACTORLM_NET_TRY(expr)                                \
    do {                                                     \
        if (auto actorlm_err_ = (expr)) return actorlm_err_; \
    } while (0)

bool is_null(element e);
/// "a string", "an integer", ... for messages.
const char* type_name(element e);

/// 400 "Invalid type for 'name': expected <expected>, but got <actual> instead."
api_error type_error(std::string_view name, std::string_view expected, element got);
/// 400 "Invalid 'name': <what>."
api_error value_error(std::string_view name, std::string_view what);

maybe_error get_bool(element e, std::string_view name, bool& out);
/// Integers, or floats with no fractional part (pydantic's lax mode accepts 16.0).
maybe_error get_int64(element e, std::string_view name, int64_t& out);
/// As get_int64, then range-checked into int32.
maybe_error get_int32(element e, std::string_view name, int32_t& out);
maybe_error get_uint64(element e, std::string_view name, uint64_t& out);
maybe_error get_double(element e, std::string_view name, double& out);
maybe_error get_float(element e, std::string_view name, float& out);
maybe_error get_string(element e, std::string_view name, std::string& out);
/// A string or an array of strings (OpenAI's `stop`).
maybe_error get_string_or_list(element e, std::string_view name, std::vector<std::string>& out);
/// An array of non-negative token ids.
maybe_error get_token_list(element e, std::string_view name, std::vector<int32_t>& out);
/// Parses `body` as one JSON object; the DOM lives in `parser` until its next parse.
maybe_error parse_object(simdjson::dom::parser& parser, std::string_view body,
                         simdjson::dom::object& out);

}  // namespace actorlm::net::json

// json_schema_formats: the regular expression behind each JSON Schema string `format` we
// constrain (date, time, date-time, uuid, email, ipv4, hostname, uri ...). Formats not in
// the table are refused by the schema compiler.
#pragma once

#include <string_view>

namespace actorlm::structured {

/// The pattern for `format`, or an empty view when the format is not supported.
std::string_view json_format_pattern(std::string_view format);

/// Comma-separated names of the supported formats, for error messages.
std::string_view json_supported_formats();

}  // namespace actorlm::structured

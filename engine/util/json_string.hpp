// JSON string escaping shared by the server's responses and the CLI's JSONL
// output: quotes, escapes control characters, and keeps the text valid UTF-8
// (invalid bytes become U+FFFD, since token pieces can end mid-character).
#pragma once

#include <string>
#include <string_view>

namespace actorlm {

/// Appends `s` to `out` as a quoted JSON string; invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s);

}  // namespace actorlm

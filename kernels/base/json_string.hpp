// JSON string escaping shared by the server's responses and the CLI's JSONL
// output: quotes, escapes control characters, and keeps the text valid UTF-8
// (invalid bytes become U+FFFD, since token pieces can end mid-character).
#pragma once

#include <string>
#include <string_view>

namespace actorlm {

/// Appends `s` to `out` as a quoted JSON string; invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s);

/// `s` as a quoted JSON string (append_json_string into a new string).
std::string json_quoted(std::string_view s);

/// Appends the JSON escape of code point `c` if it needs one (quote, backslash,
/// control characters: \n-style where JSON has a short form, else \u00XX) and
/// returns true; returns false, appending nothing, for every other code point.
bool append_json_escape(std::string& out, char32_t c);

}  // namespace actorlm

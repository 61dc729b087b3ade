// partial_json: reads JSON text that may still be arriving (a model's tool call while it
// is generated): how far a value extends, whether it is complete yet, and an object's
// fields with their raw value spans. The tool parsers stream arguments as raw text
// slices of the model's output, so nothing here re-serializes. Pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actorlm::net::partial_json {

enum class scan_state { complete, incomplete, invalid };

/// A value (after leading whitespace) starting at `pos`: `begin` is its first byte, `end`
/// one past its last byte when complete, text.size() when the text ends inside it, and
/// the offending byte when invalid. A number or keyword at the very end of the text is
/// incomplete (more digits may follow).
struct scanned_value {
    scan_state state = scan_state::incomplete;
    size_t begin = 0;
    size_t end = 0;
};
scanned_value scan_value(std::string_view text, size_t pos);

/// The value of a complete JSON string literal `"..."` (escapes decoded); nullopt when
/// `literal` is not one.
std::optional<std::string> decode_string(std::string_view literal);

/// One field of an object being read.
struct object_field {
    std::string key;
    scanned_value value;
};

/// An object `{...}` starting (after whitespace) at `pos`, read as far as the text goes.
/// Fields appear once their key is complete; the last may have an incomplete value.
struct scanned_object {
    scan_state state = scan_state::incomplete;  // complete once the closing brace is read
    size_t begin = 0;
    size_t end = 0;  // one past '}' when complete
    std::vector<object_field> fields;
    const object_field* find(std::string_view key) const;
};
scanned_object scan_object(std::string_view text, size_t pos);

/// Index of the first byte at or after `pos` that is not JSON whitespace.
size_t skip_whitespace(std::string_view text, size_t pos);

}  // namespace actorlm::net::partial_json

// json_writer: appends JSON text to a string (objects, arrays, escaped strings,
// numbers). Used for every response body the server sends. Not thread-safe; one
// writer per document. Invariant: strings are emitted as valid UTF-8 (invalid bytes
// become U+FFFD) and non-finite floats never reach the output (JSON has no NaN/Inf).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_string.hpp"

namespace actorlm::net {

using actorlm::append_json_string;

/// Streaming JSON builder that inserts the commas itself.
/// Usage: `w.begin_object(); w.key("a"); w.value(1); w.end_object(); w.str()`.
class json_writer {
public:
    json_writer& begin_object();
    json_writer& end_object();
    json_writer& begin_array();
    json_writer& end_array();
    /// Writes an object key; the next call writes its value.
    json_writer& key(std::string_view k);
    json_writer& value(std::string_view s);
    json_writer& value(const char* s) { return value(std::string_view(s)); }
    json_writer& value(const std::string& s) { return value(std::string_view(s)); }
    json_writer& value(bool b);
    json_writer& value(int32_t v) { return value(static_cast<int64_t>(v)); }
    json_writer& value(uint32_t v) { return value(static_cast<int64_t>(v)); }
    json_writer& value(int64_t v);
    json_writer& value(uint64_t v);
    /// Non-finite values: -inf becomes -9999.0 (vLLM's logprob floor), +inf 9999.0, NaN null.
    json_writer& value(double v);
    json_writer& value(float v) { return value(static_cast<double>(v)); }
    json_writer& null();
    /// Inserts already-serialized JSON (e.g. a client's tool_calls array) verbatim.
    json_writer& raw(std::string_view json);

    /// key + value shorthand.
    template <class T>
    json_writer& field(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }

    const std::string& str() const { return out_; }
    std::string take() { return std::move(out_); }

private:
    void before_value();

    std::string out_;
    // One entry per open container: true once it holds an element (a comma is due).
    std::vector<bool> has_element_;
    bool after_key_ = false;
};

}  // namespace actorlm::net

// structured_output_fields: the request keys that constrain the output, in all the
// spellings clients send: OpenAI's `response_format` (text, json_object, json_schema),
// vLLM's `structured_outputs` object (json, regex, choice, grammar, json_object) and the
// older top-level `guided_json` / `guided_regex` / `guided_choice` / `guided_grammar`.
// At most one constraint per request. What the engine cannot constrain is reported by
// check_sampling_params (validate_common) under the key the client used. Stateless.
#pragma once

#include <string_view>

#include "net/json_fields.hpp"
#include "net/request_fields.hpp"

namespace actorlm::net {

/// Reads `value` into f.params.structured_output when `key` is one of the keys above
/// (returns false for other keys); a malformed value or a second constraint sets `err`.
bool read_structured_output_field(std::string_view key, json::element value, common_fields& f,
                                  json::maybe_error& err);

}  // namespace actorlm::net

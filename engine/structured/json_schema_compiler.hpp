// json_schema_compiler: JSON Schema -> grammar for one JSON document, covering what
// OpenAI's strict mode accepts: type (all, and lists), properties / required /
// additionalProperties, enum, const, anyOf / oneOf, single allOf, $ref into $defs /
// definitions including recursion, items / minItems / maxItems, string minLength /
// maxLength / pattern / common formats, nullable, integer and number bounds (minimum,
// maximum, exclusive*). Any other keyword is an error naming it
// and where it is (never silently unconstrained). Properties are produced in `properties`
// order; an object schema with `properties` gets no others (XGrammar's strict mode).
#pragma once

#include <string_view>

#include "base/result.hpp"
#include "structured/grammar.hpp"

namespace actorlm::structured {

/// A validated grammar whose root matches JSON text valid under `schema_json`.
result<grammar> json_schema_to_grammar(std::string_view schema_json);

/// A grammar for any JSON object (OpenAI's response_format {"type": "json_object"}).
grammar json_object_grammar();

}  // namespace actorlm::structured

// regex_compiler: a regular expression (the Python / ECMAScript subset that JSON Schema
// `pattern`s and vLLM's `regex` structured output use) -> grammar matching the whole text.
// Supported: literals, escapes (\d \w \s \D \W \S \n \t \xHH \uHHHH ...), classes, `.`,
// groups ( ) (?: ) (?P<n> ) (?<n> ), alternation, * + ? {m} {m,} {m,n} (lazy forms match
// the same language), ^ at the start and $ at the end. Backreferences, lookaround, word
// boundaries and inline flags are refused with an error naming them.
#pragma once

#include <string_view>

#include "base/result.hpp"
#include "structured/grammar.hpp"

namespace actorlm::structured {

struct regex_options {
    /// Emit the characters as the inside of a JSON string: `"` and `\` as escapes,
    /// control characters as \n \t \r \b \f or \u00XX (a JSON Schema `pattern`).
    bool json_string = false;
};

/// Adds a rule matching `pattern` to `g` and returns it (the root is left alone).
result<int32_t> add_regex_rule(grammar& g, std::string_view pattern, const regex_options& options,
                               std::string_view hint);

/// A validated grammar whose root matches exactly the strings of `pattern`.
result<grammar> regex_to_grammar(std::string_view pattern);

}  // namespace actorlm::structured

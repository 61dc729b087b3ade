// ebnf_parser: GBNF / EBNF grammar text (llama.cpp's GBNF, the form vLLM's `grammar`
// structured output takes) -> grammar. Rules `name ::= expr`; alternatives `|`; grouping
// `( )`; literals "..." or '...' with \n \t \r \\ \" \xHH \uHHHH \UHHHHHHHH escapes;
// classes [a-z] / [^...]; `.` (any character); postfix * + ? {m} {m,} {m,n}; `#` comments.
// The start rule is `root`. Errors give the line and column.
#pragma once

#include <string_view>

#include "base/result.hpp"
#include "structured/grammar.hpp"

namespace actorlm::structured {

/// Parses `text` into a validated grammar rooted at rule `root`.
result<grammar> parse_ebnf(std::string_view text);

}  // namespace actorlm::structured

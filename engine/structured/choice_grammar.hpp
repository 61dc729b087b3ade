// choice_grammar: the grammar of vLLM's `choice` structured output: exactly one of the
// given strings. Empty lists are refused.
#pragma once

#include <span>
#include <string>

#include "base/result.hpp"
#include "structured/grammar.hpp"

namespace actorlm::structured {

/// A validated grammar whose root matches exactly one of `choices`.
result<grammar> choice_grammar(std::span<const std::string> choices);

}  // namespace actorlm::structured

// grammar_source: a request's structured_output_params -> the grammar it constrains to
// (JSON schema, any JSON object, regex, choice or GBNF), the one place that dispatches on
// the kind. Used to validate requests (check_sampling_params) and by the runner's grammar
// cache. Pure.
#pragma once

#include <actorlm/engine.hpp>

#include "base/result.hpp"
#include "structured/grammar.hpp"

namespace actorlm::structured {

/// The grammar of `p` (p.active() must hold); errors say what cannot be constrained.
result<grammar> grammar_from_params(const structured_output_params& p);

}  // namespace actorlm::structured

// grammar_source: a request's structured_output_params -> the grammar it constrains to
// (JSON schema, any JSON object, regex, choice or GBNF), the one place that dispatches on
// the kind. Used to validate requests (check_sampling_params) and by the runner's grammar
// cache. Pure.
#pragma once

#include <actorlm/engine.hpp>

#include <optional>
#include <string>

#include "base/result.hpp"
#include "structured/grammar.hpp"

namespace actorlm::structured {

/// The grammar of `p` (p.active() must hold); errors say what cannot be constrained.
result<grammar> grammar_from_params(const structured_output_params& p);

/// Whether `p` compiles, and if not why: grammar_from_params' verdict, remembered for the
/// last few hundred specs, since the server and the scheduler check every request and
/// requests usually repeat a handful of schemas (a JSON schema takes ~0.1-0.5 ms to
/// compile). Thread-safe.
std::optional<std::string> structured_output_error(const structured_output_params& p);

/// The cache key of `p`: its kind, spec and choices.
std::string structured_output_key(const structured_output_params& p);

}  // namespace actorlm::structured

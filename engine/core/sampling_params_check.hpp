// sampling_params_check: rejects sampling parameters the sampler cannot honour,
// with a message naming the field and the allowed range (vLLM's
// SamplingParams._verify_args). Pure function.
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>

#include "base/result.hpp"

namespace actorlm::core {

/// ok() or an error naming the bad field. `vocab_size` 0 skips token-id range checks.
status validate_sampling_params(const actorlm::sampling_params& p, int64_t vocab_size);

}  // namespace actorlm::core

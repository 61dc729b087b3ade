// Maps a request's public sampling_params onto the device sampler's per-row
// settings, for `actorlm bench-gpu`'s device-sampling mode only: the serving path
// fetches logits with forward() and samples on the host (docs/cuda.md). Requests
// that need host-side logits processing (penalties, logit bias, logprobs,
// min_tokens' EOS suppression) are not device-samplable (nullopt).
#pragma once

#include <cstdint>
#include <optional>

#include "actorlm/engine.hpp"
#include "cuda/sampling.cuh"

namespace actorlm::cuda {

/// Device settings for one row of `params`, sampling the request's token number
/// `step` (its count of generated tokens so far), or nullopt when the request
/// needs host-side processing. Unseeded requests use `fallback_seed` (the
/// engine's seed mixed with the request's identity, chosen by the caller).
std::optional<gpu_sampling_params> to_device_sampling(const sampling_params& params,
                                                      int32_t num_generated, uint64_t step,
                                                      uint64_t fallback_seed);

}  // namespace actorlm::cuda

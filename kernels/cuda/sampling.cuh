// Token sampling on the device: greedy argmax, temperature, top-k, top-p and
// min-p over FP32 logits rows, with per-request seeds through Philox, so only
// token ids travel back to the host. Host entry points; async on `stream`.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "base/result.hpp"

namespace actorlm::cuda {

/// Sampling settings of one logits row (one request). Plain data, copied to the
/// device as is.
struct gpu_sampling_params {
    float temperature = 0.0f;  // <= 0: greedy argmax (ties -> lowest id)
    int32_t top_k = 0;         // <= 0 or >= vocab: off
    float top_p = 1.0f;        // in (0, 1]; 1: off
    float min_p = 0.0f;        // in [0, 1); keeps p >= min_p * p_max
    uint64_t seed = 0;         // per request
    uint64_t step = 0;         // counter: the request's number of sampled tokens so far
};

/// Checks the ranges above; the error names the field and the row.
status validate_sampling_params(const gpu_sampling_params* params, int32_t num_rows);

/// out_ids[r] = token sampled from logits row r ([num_rows, vocab] FP32, device),
/// params and out_ids device arrays of num_rows. Ties at the top-k / top-p
/// thresholds are kept (the kept set may exceed k by equal logits).
status sample_tokens(const float* logits, int32_t num_rows, int32_t vocab,
                     const gpu_sampling_params* params, int32_t* out_ids, cudaStream_t stream);

}  // namespace actorlm::cuda

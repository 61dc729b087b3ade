// Device-side weight preparation: element type conversion (F32 <-> F16 <-> BF16)
// after upload, and the hash-based random / constant fills of the synthetic
// mode (benchmarks of any model shape without a weights file).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "base/dtype.hpp"
#include "base/result.hpp"

namespace actorlm::cuda {

/// dst[i] = convert(src[i]) for i < n; both of f32/f16/bf16 (round to nearest even).
status convert_elements(const void* src, dtype src_type, void* dst, dtype dst_type, int64_t n,
                        cudaStream_t stream);

/// dst[i] = uniform in [-scale, scale), a pure function of (seed, i): the same seed
/// gives the same tensor on every device and run.
status fill_uniform(void* dst, dtype type, int64_t n, uint64_t seed, float scale,
                    cudaStream_t stream);

/// dst[i] = value.
status fill_constant(void* dst, dtype type, int64_t n, float value, cudaStream_t stream);

}  // namespace actorlm::cuda

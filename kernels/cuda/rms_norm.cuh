// RMSNorm: y = x / sqrt(mean(x^2) + eps) * weight, accumulated in FP32. Serves the
// per-layer norms (FP32 residual in, compute type out) and Qwen3's per-head Q/K
// norms (in place on the fused QKV buffer). Host entry points, async on `stream`.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "base/dtype.hpp"
#include "base/result.hpp"

namespace actorlm::cuda {

/// Where the rows of an RMSNorm live: row r starts at element
/// (r / rows_per_group) * group_stride + (r % rows_per_group) * cols.
/// A plain matrix has rows_per_group = 1 and group_stride = its row stride.
struct row_layout {
    int64_t rows_per_group = 1;
    int64_t group_stride = 0;
};

/// Normalizes `rows` rows of `cols` elements from `in` (f32, or out_type) into `out`
/// (f32/f16/bf16); weight is `cols` floats. in and out may alias when their types
/// and layouts are equal.
status rms_norm(const void* in, dtype in_type, row_layout in_layout, void* out, dtype out_type,
                row_layout out_layout, const float* weight, int32_t rows, int32_t cols, float eps,
                cudaStream_t stream);

}  // namespace actorlm::cuda

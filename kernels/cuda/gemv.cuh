// Small-batch GEMV for decode: y[r, :] = x[r, :] · W^T (+ beta * y) for r < 4 rows,
// 16-bit W and x, FP32 accumulation. One warp per output feature streams its W row
// with 16-byte loads, so batch-1 decode runs at memory bandwidth without cuBLAS'
// heuristics in the way. Host entry point; async on `stream`.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "base/dtype.hpp"
#include "base/result.hpp"

namespace actorlm::cuda {

/// Largest row count gemv handles.
inline constexpr int64_t k_gemv_max_rows = 4;

/// True when gemv can run these operands: f16/bf16 input, rows <= k_gemv_max_rows,
/// in a multiple of 8 and x, w 16-byte aligned.
bool gemv_supported(const void* x, const void* w, dtype in_type, int64_t rows, int64_t in);

/// y = x · w^T + beta * y with x [rows, in], w [out, in] of in_type and y [rows, out]
/// of out_type (in_type or f32); beta is 0 (y not read) or 1.
status gemv(const void* x, const void* w, dtype in_type, int64_t rows, int64_t in, int64_t out,
            void* y, dtype out_type, float beta, cudaStream_t stream);

}  // namespace actorlm::cuda

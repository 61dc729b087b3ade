// dequantize: one row of any weight type to fp32. The results are bit-exact
// with ggml's dequantize_row_* (same operation order, no fused multiply-add), so
// a tensor dequantized here equals llama.cpp's view of it. Thread-safe.
#pragma once

#include <cstdint>

#include "base/dtype.hpp"

namespace actorlm::cpu {

/// Writes n floats of a row of `type` starting at src (n a multiple of the
/// block size; checked) to dst.
void dequantize_row(dtype type, const void* src, float* dst, int64_t n);

}  // namespace actorlm::cpu

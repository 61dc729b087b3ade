// matmul_kernels: the contract between matmul.cpp (validation, activation
// quantization, threading) and the per-level kernel files (portable, avx2,
// avx512). A kernel fills y for a range of rows and every token; it reads only
// its arguments, so row ranges may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cpu/cpu_features.hpp"
#include "base/dtype.hpp"

namespace actorlm::cpu::detail {

/// Activations quantized to blocks of 32 int8 with one fp32 scale each, plus
/// the sums of every 16 quants (for the offset/min terms of q4_0, q4_k, q6_k).
/// Bit-identical whichever level produced it: d = amax/127, q = rint(x * (1/d)).
struct q8_activations {
    const int8_t* qs = nullptr;     // [num_tokens][cols], 64-byte aligned rows when cols%64==0
    const float* d = nullptr;       // [num_tokens][cols/32]
    const int16_t* sums = nullptr;  // [num_tokens][cols/16]
    // Filled only for weights in the panel layout, [num_tokens][cols/32] each:
    // -128 x the sum of each block's 32 quants (Q8_0 panel quants are stored +128),
    // and d x that sum (the activation side of Q4_K's min term).
    const int32_t* block_offsets = nullptr;
    const float* block_scaled_sums = nullptr;
};

/// Everything a row-range kernel needs.
struct matmul_args {
    const uint8_t* w = nullptr;  // row r starts at w + r * row_bytes
    size_t row_bytes = 0;
    int64_t rows = 0, cols = 0, num_tokens = 0;
    const float* x = nullptr;  // fp32 activations [num_tokens][cols] (float weight types)
    q8_activations xq;         // quantized activations (quantized weight types)
    float* y = nullptr;        // [num_tokens][rows]
};

/// Computes y[t][r] for r in [row_begin, row_end) and every token.
using rows_kernel = void (*)(const matmul_args& args, int64_t row_begin, int64_t row_end);

/// Quantizes tokens [t_begin, t_end) of x ([num_tokens][cols]) into the buffers
/// of xq (the const is cast away by the owner, matmul.cpp).
using quantize_kernel = void (*)(const float* x, int64_t cols, int64_t t_begin, int64_t t_end,
                                 int8_t* qs, float* d, int16_t* sums);

/// Rows per parallel work item; kernels tile rows in multiples of it.
inline constexpr int64_t k_row_tile = 16;

/// Per-level tables; nullptr where a level has no kernel of its own (the next
/// lower level's is used).
rows_kernel portable_kernel(dtype type);
rows_kernel avx2_kernel(dtype type);
rows_kernel avx512_kernel(dtype type);
/// Weights in the 16-row panel layout (weight_panels.hpp); row ranges start on a
/// panel boundary. The portable ones serve every level without AVX-512.
rows_kernel portable_panel_kernel(dtype type);
rows_kernel avx512_panel_kernel(dtype type);
void quantize_activations_portable(const float* x, int64_t cols, int64_t t_begin, int64_t t_end,
                                   int8_t* qs, float* d, int16_t* sums);
void quantize_activations_avx512(const float* x, int64_t cols, int64_t t_begin, int64_t t_end,
                                 int8_t* qs, float* d, int16_t* sums);

}  // namespace actorlm::cpu::detail

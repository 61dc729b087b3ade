// weight_panels: quantized weights repacked for batched integer matmuls. In
// ggml's row layout, a dot product of one row and one token needs a horizontal
// reduction and a float rescale per 64 weights, which leaves the VNNI units idle
// most of the time once many tokens share a step. Here 16 rows form a panel and
// lane i of every vector is row i: one vpdpbusd multiplies 4 columns of all 16
// rows by 4 quants of one token (broadcast from memory), so a 32-column block of
// 16 rows costs 8 dot-product instructions and one rescale per token, with no
// horizontal sums at all. The last panel is zero-padded to 16 rows.
//
// Q8_0 panels, per block of 32 columns (544 bytes, the row layout's size):
//   [16 fp16 row scales][8 x (16 rows x 4 quants)], quants stored +128 (unsigned,
//   as vpdpbusd wants); the matmul removes the offset with the activations' block sums.
// Q4_0 panels, per block of 32 columns (288 bytes, the row layout's size):
//   [16 fp16 row scales][4 x 64 bytes of nibbles as in Q5_0 panels], quants as
//   stored (0..15, i.e. +8); the offset is removed like Q8_0's.
// Q5_0 panels, per block of 32 columns (352 bytes, the row layout's size):
//   [16 fp16 row scales][8 x 64-bit masks: bit 4i+e of mask g = 5th bit of row i,
//   column 4g+e][4 x 64 bytes of nibbles: vector v holds, for lane i, the low 4 bits
//   of column group v (low nibbles) and of group v + 4 (high nibbles) of row i].
//   Quants are stored +16 (unsigned); the offset is removed like Q8_0's.
// Q4_K panels, per super-block of 256 columns (2368 bytes, 2.8% over the rows'):
//   [16 fp16 d][16 fp16 dmin][8 x 16 u8 sub-block scales][8 x 16 u8 sub-block mins]
//   then per sub-block j of 32 columns 4 vectors of 64 bytes; vector v holds, for
//   lane i, the 4 nibbles of column group v (low) and of group v + 4 (high) of row i.
//   A weight is d*sc_j*q - dmin*m_j: the scale multiplies the integer dot, the min
//   term is subtracted with the activations' scaled block sums.
// Q6_K panels, per super-block of 256 columns (3360 bytes, the row layout's size):
//   [16 fp16 d][16 sub-blocks x 16 rows int8 scales] then per 32-column unit
//   4 vectors of nibbles (Q4_0's grouping) and 2 vectors of top bits: byte 4i+e
//   of vector h holds, at bits 2k..2k+1, the top 2 bits of column 16h + 4k + e of
//   the unit for row i. Quants are stored +32; each 16-column sub-block has its
//   own scale and its offset is removed with the activations' 16-column sums.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cpu/thread_pool.hpp"
#include "base/tensor.hpp"

namespace actorlm::cpu {

inline constexpr int64_t k_panel_rows = 16;
/// Bytes of one Q8_0 panel block (32 columns).
inline constexpr int64_t k_q8_0_panel_block_bytes = k_panel_rows * 2 + k_panel_rows * 32;
/// Bytes of one Q4_0 panel block (32 columns).
inline constexpr int64_t k_q4_0_panel_block_bytes = k_panel_rows * 2 + k_panel_rows * 16;
/// Bytes of one Q5_0 panel block (32 columns).
inline constexpr int64_t k_q5_0_panel_block_bytes = k_panel_rows * 2 + 8 * 8 + k_panel_rows * 16;
/// Bytes of one Q6_K panel super-block (256 columns).
inline constexpr int64_t k_q6_k_panel_block_bytes =
    k_panel_rows * 2 + 16 * k_panel_rows + 8 * 6 * 64;
/// Bytes of one Q4_K panel super-block (256 columns).
inline constexpr int64_t k_q4_k_panel_block_bytes =
    k_panel_rows * (2 + 2 + 8 + 8) + k_panel_rows * 128;

/// Whether matmul at the active cpu level runs `w` faster as panels (Q8_0, Q4_0,
/// Q5_0, Q4_K and Q6_K matrices on AVX-512 VNNI).
bool prefers_panels(const tensor& w);

/// A copy of `w` (a Q8_0, Q4_0, Q5_0, Q4_K or Q6_K matrix in row layout) in its panel layout; its
/// bytes are owned by an entry appended to `storage`. Panels are split over `pool`.
tensor repack_to_panels(const tensor& w, std::vector<std::shared_ptr<void>>& storage,
                        thread_pool& pool);

}  // namespace actorlm::cpu

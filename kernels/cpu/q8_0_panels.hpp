// q8_0_panels: Q8_0 weights repacked for batched integer matmuls. In ggml's row
// layout, a dot product of one row and one token needs a horizontal reduction and
// a float rescale per 64 weights, which leaves the VNNI units idle most of the
// time once many tokens share a step. Here 16 rows form a panel and each block of
// 32 columns is stored as [16 fp16 row scales][8 x (16 rows x 4 quants)]: one
// vpdpbusd multiplies 4 columns of all 16 rows (one row per lane) by 4 quants of
// one token (a broadcast), so a block of 16 rows x 32 columns costs 8 dot-product
// instructions and one rescale per token, with no horizontal sums at all.
// Quants are stored +128 (unsigned, as vpdpbusd wants); the matmul removes the
// offset with the activations' block sums. The size equals the row layout's
// (34 bytes per 32 weights per row), so repacking replaces the weights rather
// than adding to them; the last panel is zero-padded to 16 rows.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/model_weights.hpp"

namespace actorlm::cpu {

inline constexpr int64_t k_panel_rows = 16;
/// Bytes of one panel block: 16 fp16 scales + 16 x 32 quants.
inline constexpr int64_t k_panel_block_bytes = k_panel_rows * 2 + k_panel_rows * 32;

/// Whether matmul at the active cpu level runs `w` faster as panels (Q8_0
/// matrices on AVX-512 VNNI).
bool prefers_q8_0_panels(const tensor& w);

/// A copy of Q8_0 matrix `w` in the panel layout (tensor::layout ==
/// weight_layout::q8_0_panels); its bytes are owned by an entry appended to `storage`.
tensor repack_q8_0_panels(const tensor& w, std::vector<std::shared_ptr<void>>& storage);

}  // namespace actorlm::cpu

// Rotary position embedding (RoPE) for Llama / Mistral / Qwen heads. The
// per-pair inverse frequencies (with linear or Llama-3 scaling) are computed once
// per model; angles are computed once per token and shared by every layer.
// Stateless functions, safe to call from any thread on disjoint rows.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/rope_scaling.hpp"

namespace actorlm::cpu {

/// Inverse frequency of every rotated pair, scaling applied; built once per model.
struct rope_table {
    int64_t head_dim = 0;
    bool neox = false;             // pair layout: (i, i + d/2) when true, (2i, 2i+1) when false
    std::vector<double> inv_freq;  // [head_dim / 2]
};

/// Builds the table for `head_dim` (even) with base `theta` and the given scaling:
/// linear divides every frequency by factor; llama3 follows HF's
/// `_compute_llama3_parameters` (long wavelengths scaled, short kept, smooth between).
rope_table make_rope_table(int64_t head_dim, double theta, bool neox, const rope_scaling& scaling);

/// Writes cos and sin of position * inv_freq for `num_tokens` positions:
/// cos_out / sin_out are [num_tokens][head_dim / 2].
void rope_angles(const rope_table& table, const int32_t* positions, int64_t num_tokens,
                 float* cos_out, float* sin_out);

/// M-RoPE (Qwen2-VL / Qwen2.5-VL, transformers' apply_multimodal_rotary_pos_emb): like
/// rope_angles, but a token has three positions (`positions3` is [num_tokens][3]: temporal,
/// height, width) and pair i takes the position of the section it falls in: pairs
/// [0, section[0]) the temporal one, the next section[1] the height, the last section[2]
/// the width. `section` has 3 entries summing to head_dim / 2.
void mrope_angles(const rope_table& table, std::span<const int32_t> section,
                  const int32_t* positions3, int64_t num_tokens, float* cos_out, float* sin_out);

/// Rotates `num_heads` consecutive heads of one token in place (x is
/// [num_heads][head_dim]) with that token's cos / sin rows ([head_dim / 2]).
void apply_rope(const rope_table& table, float* x, int64_t num_heads, const float* cos_row,
                const float* sin_row);

}  // namespace actorlm::cpu

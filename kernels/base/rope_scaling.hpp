// rope_scaling: how a model stretches its rotary position embedding (none,
// linear, Llama-3's wavelength split) and the inverse frequencies that follow,
// computed once per model by the one function both backends' RoPE use.
// Plain data and a pure function.
#pragma once

#include <cstdint>
#include <vector>

namespace actorlm {

enum class rope_scaling_type { none, linear, llama3 };

struct rope_scaling {
    rope_scaling_type type = rope_scaling_type::none;
    float factor = 1.0f;
    float low_freq_factor = 1.0f;          // llama3
    float high_freq_factor = 4.0f;         // llama3
    int64_t original_max_position = 8192;  // llama3
};

/// The head_dim/2 inverse frequencies theta^(-2i/head_dim) of the rotated pairs, with
/// `scaling` applied: linear divides every frequency by factor; llama3 follows HF's
/// `_compute_llama3_parameters` (long wavelengths slowed by factor, short ones kept,
/// those between interpolated). In double; head_dim must be even and positive.
std::vector<double> rope_inverse_frequencies(int64_t head_dim, double theta,
                                             const rope_scaling& scaling);

}  // namespace actorlm

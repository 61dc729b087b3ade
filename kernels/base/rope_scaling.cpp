// rope_inverse_frequencies. Angles are later formed from these in double (CPU)
// or float (CUDA); the frequencies themselves are computed in double here once.
#include "base/rope_scaling.hpp"

#include <cmath>
#include <numbers>

#include "base/check.hpp"

namespace actorlm {

namespace {

// HF transformers' _compute_llama3_parameters: wavelengths longer than the
// original context / low_freq_factor are slowed down by `factor`, shorter than
// original / high_freq_factor are kept, and those between are interpolated.
double llama3_scaled(double inv_freq, const rope_scaling& s) {
    const double old_ctx = static_cast<double>(s.original_max_position);
    const double low_wavelen = old_ctx / s.low_freq_factor;
    const double high_wavelen = old_ctx / s.high_freq_factor;
    const double wavelen = 2.0 * std::numbers::pi / inv_freq;
    if (wavelen > low_wavelen) return inv_freq / s.factor;
    if (wavelen < high_wavelen) return inv_freq;
    const double smooth =
        (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return (1.0 - smooth) * inv_freq / s.factor + smooth * inv_freq;
}

}  // namespace

std::vector<double> rope_inverse_frequencies(int64_t head_dim, double theta,
                                             const rope_scaling& scaling) {
    ACTORLM_CHECK(head_dim > 0 && head_dim % 2 == 0, "rope head_dim %lld must be even",
                  static_cast<long long>(head_dim));
    std::vector<double> inv(static_cast<size_t>(head_dim / 2));
    for (int64_t i = 0; i < head_dim / 2; ++i) {
        double f =
            1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
        switch (scaling.type) {
            case rope_scaling_type::none: break;
            case rope_scaling_type::linear: f /= scaling.factor; break;
            case rope_scaling_type::llama3: f = llama3_scaled(f, scaling); break;
        }
        inv[static_cast<size_t>(i)] = f;
    }
    return inv;
}

}  // namespace actorlm

// RoPE tables and rotation. Angles are formed in double so that long positions
// keep full precision; the rotation itself is float (it is a few flops per
// element, the compiler vectorizes the NeoX layout).
#include "cpu/rope.hpp"

#include <cmath>
#include <numbers>

#include "util/check.hpp"

namespace actorlm::cpu {

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

rope_table make_rope_table(int64_t head_dim, double theta, bool neox, const rope_scaling& scaling) {
    ACTORLM_CHECK(head_dim > 0 && head_dim % 2 == 0, "rope head_dim %lld must be even",
                  static_cast<long long>(head_dim));
    rope_table t;
    t.head_dim = head_dim;
    t.neox = neox;
    t.inv_freq.resize(static_cast<size_t>(head_dim / 2));
    for (int64_t i = 0; i < head_dim / 2; ++i) {
        double f = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
        switch (scaling.type) {
            case rope_scaling_type::none: break;
            case rope_scaling_type::linear: f /= scaling.factor; break;
            case rope_scaling_type::llama3: f = llama3_scaled(f, scaling); break;
        }
        t.inv_freq[static_cast<size_t>(i)] = f;
    }
    return t;
}

void rope_angles(const rope_table& table, const int32_t* positions, int64_t num_tokens,
                 float* cos_out, float* sin_out) {
    const int64_t half = table.head_dim / 2;
    for (int64_t t = 0; t < num_tokens; ++t) {
        const double pos = positions[t];
        for (int64_t i = 0; i < half; ++i) {
            const double a = pos * table.inv_freq[static_cast<size_t>(i)];
            cos_out[t * half + i] = static_cast<float>(std::cos(a));
            sin_out[t * half + i] = static_cast<float>(std::sin(a));
        }
    }
}

void apply_rope(const rope_table& table, float* x, int64_t num_heads, const float* cos_row,
                const float* sin_row) {
    const int64_t d = table.head_dim;
    const int64_t half = d / 2;
    for (int64_t h = 0; h < num_heads; ++h) {
        float* head = x + h * d;
        if (table.neox) {
            float* lo = head;
            float* hi = head + half;
            for (int64_t i = 0; i < half; ++i) {
                const float a = lo[i], b = hi[i];
                lo[i] = a * cos_row[i] - b * sin_row[i];
                hi[i] = a * sin_row[i] + b * cos_row[i];
            }
        } else {
            for (int64_t i = 0; i < half; ++i) {
                const float a = head[2 * i], b = head[2 * i + 1];
                head[2 * i] = a * cos_row[i] - b * sin_row[i];
                head[2 * i + 1] = a * sin_row[i] + b * cos_row[i];
            }
        }
    }
}

}  // namespace actorlm::cpu

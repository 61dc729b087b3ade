// RoPE tables and rotation. Angles are formed in double so that long positions
// keep full precision; the rotation itself is float (it is a few flops per
// element, the compiler vectorizes the NeoX layout).
#include "cpu/rope.hpp"

#include <algorithm>
#include <cmath>

namespace actorlm::cpu {

rope_table make_rope_table(int64_t head_dim, double theta, bool neox, const rope_scaling& scaling) {
    rope_table t;
    t.head_dim = head_dim;
    t.neox = neox;
    t.inv_freq = rope_inverse_frequencies(head_dim, theta, scaling);
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

void mrope_angles(const rope_table& table, std::span<const int32_t> section,
                  const int32_t* positions3, int64_t num_tokens, float* cos_out, float* sin_out) {
    const int64_t half = table.head_dim / 2;
    for (int64_t t = 0; t < num_tokens; ++t) {
        int64_t i = 0;
        for (size_t axis = 0; axis < 3 && axis < section.size(); ++axis) {
            const double pos = positions3[t * 3 + static_cast<int64_t>(axis)];
            const int64_t end = std::min(half, i + section[axis]);
            for (; i < end; ++i) {
                const double a = pos * table.inv_freq[static_cast<size_t>(i)];
                cos_out[t * half + i] = static_cast<float>(std::cos(a));
                sin_out[t * half + i] = static_cast<float>(std::sin(a));
            }
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

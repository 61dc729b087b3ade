// LayerNorm, portable: two passes in double (mean, then the centred sum of squares), the
// row written in float. Vision encoders normalize a few thousand rows per layer, far less
// work than their matmuls, so no vector variant is needed.
#include "cpu/layernorm.hpp"

#include <cmath>

namespace actorlm::cpu {

void layernorm(const float* x, const float* weight, const float* bias, float* y, int64_t n,
               float eps) {
    if (n <= 0) return;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += x[i];
    const double mean = sum / static_cast<double>(n);
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double d = x[i] - mean;
        ss += d * d;
    }
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    const auto meanf = static_cast<float>(mean);
    const auto invf = static_cast<float>(inv);
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - meanf) * invf * weight[i] + bias[i];
}

}  // namespace actorlm::cpu

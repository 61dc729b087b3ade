// Portable RMSNorm and the run-time choice of the AVX-512 variant. The sum of
// squares accumulates in double here; the vector variant keeps 16 float lanes,
// which stays within 1e-6 relative for hidden sizes up to a few thousand.
#include "cpu/rmsnorm.hpp"

#include <cmath>

#include "cpu/cpu_features.hpp"

namespace actorlm::cpu {

namespace {

void rmsnorm_generic(const float* x, const float* weight, float* y, int64_t n, float eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * inv * weight[i];
}

}  // namespace

void rmsnorm(const float* x, const float* weight, float* y, int64_t n, float eps) {
    if (active_cpu_level() == cpu_level::avx512) {
        detail::rmsnorm_avx512(x, weight, y, n, eps);
    } else {
        rmsnorm_generic(x, weight, y, n, eps);
    }
}

void rmsnorm_rows(float* x, const float* weight, int64_t num_rows, int64_t n, float eps) {
    for (int64_t r = 0; r < num_rows; ++r) rmsnorm(x + r * n, weight, x + r * n, n, eps);
}

}  // namespace actorlm::cpu

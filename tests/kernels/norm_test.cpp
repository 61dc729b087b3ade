// RMSNorm and SwiGLU: the portable and AVX-512 variants against double-precision
// formulas, at lengths around the 16-lane boundaries (masked tails).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cpu/activation.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/rmsnorm.hpp"
#include "kernels/level_guard.hpp"
#include "kernels/random_weights.hpp"

using namespace actorlm::cpu;

namespace {

struct level_guard {
    cpu_level saved = active_cpu_level();
    ~level_guard() { (void)set_cpu_level(saved); }
};

}  // namespace

TEST_CASE("norm: rmsnorm matches the double formula at every length and cpu level") {
    level_guard guard;
    for (cpu_level level : actorlm::test::vectorised_levels()) {
        REQUIRE(set_cpu_level(level).ok());
        for (int64_t n : {1, 15, 16, 17, 33, 64, 576, 1000}) {
            CAPTURE(n);
            const std::vector<float> x =
                actorlm::test::random_vector(static_cast<size_t>(n), 1, 3.0f);
            const std::vector<float> w = actorlm::test::random_vector(static_cast<size_t>(n), 2);
            std::vector<float> y(static_cast<size_t>(n));
            rmsnorm(x.data(), w.data(), y.data(), n, 1e-5f);
            double ss = 0;
            for (float v : x) ss += static_cast<double>(v) * v;
            const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
            for (int64_t i = 0; i < n; ++i)
                CHECK(y[i] == doctest::Approx(x[i] * inv * w[i]).epsilon(1e-5));
        }
    }
}

TEST_CASE("norm: rmsnorm_rows normalizes each head on its own, in place") {
    const std::vector<float> w = actorlm::test::random_vector(16, 3);
    std::vector<float> x = actorlm::test::random_vector(48, 4);
    std::vector<float> want(48);
    for (int64_t r = 0; r < 3; ++r)
        rmsnorm(x.data() + r * 16, w.data(), want.data() + r * 16, 16, 1e-6f);
    rmsnorm_rows(x.data(), w.data(), 3, 16, 1e-6f);
    CHECK(x == want);
}

TEST_CASE("norm: silu_mul matches g * sigmoid(g) * u, extremes included") {
    level_guard guard;
    for (cpu_level level : actorlm::test::vectorised_levels()) {
        REQUIRE(set_cpu_level(level).ok());
        for (int64_t n : {1, 16, 37, 1536}) {
            std::vector<float> g = actorlm::test::random_vector(static_cast<size_t>(n), 5, 12.0f);
            const std::vector<float> u =
                actorlm::test::random_vector(static_cast<size_t>(n), 6, 2.0f);
            g[0] = n > 1 ? -100.0f : 100.0f;  // exp overflow / underflow must not give NaN
            std::vector<float> out(static_cast<size_t>(n));
            silu_mul(g.data(), u.data(), out.data(), n);
            for (int64_t i = 0; i < n; ++i) {
                const double want = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * u[i];
                CHECK(out[i] == doctest::Approx(want).epsilon(1e-6));
            }
        }
    }
}

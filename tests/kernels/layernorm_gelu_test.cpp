// LayerNorm with bias and the GELU family (erf, tanh, quick) against double-precision
// formulas, at several lengths and over a wide input range (large |x| included, where the
// tanh / exp saturate).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "cpu/gelu.hpp"
#include "cpu/layernorm.hpp"
#include "kernels/random_weights.hpp"

using namespace actorlm::cpu;

TEST_CASE("layernorm: matches the double formula with weight and bias, in place too") {
    for (int64_t n : {1, 7, 16, 33, 768, 1152}) {
        CAPTURE(n);
        std::vector<float> x = actorlm::test::random_vector(static_cast<size_t>(n), 11, 4.0f);
        for (float& v : x) v += 3.0f;  // a large mean: the centring must be exact enough
        const std::vector<float> w = actorlm::test::random_vector(static_cast<size_t>(n), 12);
        const std::vector<float> b = actorlm::test::random_vector(static_cast<size_t>(n), 13);
        std::vector<float> y(static_cast<size_t>(n));
        layernorm(x.data(), w.data(), b.data(), y.data(), n, 1e-5f);
        double mean = 0;
        for (float v : x) mean += v;
        mean /= n;
        double var = 0;
        for (float v : x) var += (v - mean) * (v - mean);
        var /= n;
        for (int64_t i = 0; i < n; ++i) {
            const double want = (x[i] - mean) / std::sqrt(var + 1e-5) * w[i] + b[i];
            CHECK(std::fabs(y[i] - want) <= 1e-5 * (1.0 + std::fabs(want)));
        }
        layernorm(x.data(), w.data(), b.data(), x.data(), n, 1e-5f);
        CHECK(x == y);
    }
}

TEST_CASE("layernorm: a constant row becomes the bias (variance 0, eps keeps it finite)") {
    const std::vector<float> x(16, 2.5f), w(16, 3.0f);
    const std::vector<float> b = actorlm::test::random_vector(16, 3);
    std::vector<float> y(16);
    layernorm(x.data(), w.data(), b.data(), y.data(), 16, 1e-6f);
    for (int i = 0; i < 16; ++i) CHECK(y[i] == b[i]);
}

namespace {

// Inputs from -12 to 12 plus the extremes where the approximations saturate.
std::vector<float> activation_inputs() {
    std::vector<float> x = actorlm::test::random_vector(997, 21, 12.0f);
    for (float v : {0.0f, -0.0f, 1e-7f, -1e-7f, 30.0f, -30.0f, 100.0f, -100.0f, 1e4f, -1e4f})
        x.push_back(v);
    return x;
}

template <class F, class Ref>
void check_activation(F fn, Ref ref, double tol) {
    const std::vector<float> x = activation_inputs();
    std::vector<float> y = x;
    fn(y.data(), static_cast<int64_t>(y.size()));
    for (size_t i = 0; i < x.size(); ++i) {
        CAPTURE(x[i]);
        const double want = ref(static_cast<double>(x[i]));
        REQUIRE(std::isfinite(y[i]));
        CHECK(std::fabs(y[i] - want) <= tol * (1.0 + std::fabs(want)));
    }
}

}  // namespace

TEST_CASE("gelu: erf form matches 0.5 x (1 + erf(x / sqrt 2))") {
    check_activation(gelu_erf, [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); },
                     2e-6);
}

TEST_CASE("gelu: tanh form matches transformers' gelu_pytorch_tanh") {
    check_activation(
        gelu_tanh,
        [](double v) {
            return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
        },
        2e-6);
}

TEST_CASE("gelu: quick_gelu matches x * sigmoid(1.702 x)") {
    check_activation(quick_gelu, [](double v) { return v / (1.0 + std::exp(-1.702 * v)); }, 2e-6);
}

TEST_CASE("gelu: the three forms differ (a swapped kernel would be caught)") {
    std::vector<float> a{1.0f}, b{1.0f}, c{1.0f};
    gelu_erf(a.data(), 1);
    gelu_tanh(b.data(), 1);
    quick_gelu(c.data(), 1);
    CHECK(std::fabs(a[0] - b[0]) > 1e-5);
    CHECK(std::fabs(a[0] - c[0]) > 1e-3);
}

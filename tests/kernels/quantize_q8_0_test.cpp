// quantize_row_q8_0: ggml's reference values on a hand-checked row, the round-trip
// error bound (half a quantization step plus the fp16 rounding of the scale) on
// random rows of several magnitudes, an all-zero row, and the whole-blocks check.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "cpu/dequantize.hpp"
#include "cpu/half.hpp"
#include "cpu/quantize_q8_0.hpp"

using namespace actorlm;
using namespace actorlm::cpu;

TEST_CASE("quantize_q8_0: a hand-checked block matches ggml's reference") {
    // x_j = j - 16: max |x| = 16, d = 16 / 127, 1/d = 7.9375 exactly, q_j = round(x_j * 7.9375).
    std::vector<float> x(32);
    for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
    block_q8_0 b;
    quantize_row_q8_0(x.data(), &b, 32);
    CHECK(b.d == fp32_to_fp16(16.0f / 127.0f));
    CHECK(b.qs[0] == -127);
    CHECK(b.qs[1] == -119);  // -15 * 7.9375 = -119.0625
    CHECK(b.qs[16] == 0);
    CHECK(b.qs[31] == 119);
    for (int j = 0; j < 32; ++j) CHECK(b.qs[j] == static_cast<int>(std::round((j - 16) * 7.9375)));
}

TEST_CASE("quantize_q8_0: the round trip stays within half a step plus the scale's rounding") {
    std::mt19937 rng(5);
    for (float magnitude : {0.01f, 1.0f, 37.0f, 3000.0f}) {
        std::uniform_real_distribution<float> dist(-magnitude, magnitude);
        const int64_t n = 32 * 24;
        std::vector<float> x(static_cast<size_t>(n)), y(x.size());
        for (float& v : x) v = dist(rng);
        x[40] = magnitude * 4;  // an outlier: its block's step grows, the others' do not
        std::vector<block_q8_0> q(static_cast<size_t>(n / 32));
        quantize_row_q8_0(x.data(), q.data(), n);
        dequantize_row(dtype::q8_0, q.data(), y.data(), n);
        double worst = 0;
        for (int64_t b = 0; b < n / 32; ++b) {
            double amax = 0;
            for (int j = 0; j < 32; ++j) amax = std::max(amax, std::abs(double(x[b * 32 + j])));
            const double d = amax / 127;
            // q = round(x / d) is within d/2 of x / d; the stored scale d' = fp16(d) is within
            // 2^-11 d of d, which moves q * d' by at most 127 * 2^-11 d = 0.062 d.
            const double bound = d * (0.5 + 127.0 / 2048.0) + 1e-12;
            for (int j = 0; j < 32; ++j) {
                const double err = std::abs(double(y[b * 32 + j]) - double(x[b * 32 + j]));
                CHECK(err <= bound);
                worst = std::max(worst, err / d);
            }
        }
        CAPTURE(magnitude);
        CHECK(worst > 0.3);  // the bound is not vacuous: errors of ~half a step occur
    }
}

TEST_CASE("quantize_q8_0: an all-zero block stores a zero scale and zeros") {
    std::vector<float> x(64, 0.0f), y(64, 1.0f);
    std::vector<block_q8_0> q(2);
    quantize_row_q8_0(x.data(), q.data(), 64);
    dequantize_row(dtype::q8_0, q.data(), y.data(), 64);
    CHECK(q[0].d == 0);
    CHECK(std::all_of(y.begin(), y.end(), [](float v) { return v == 0.0f; }));
}

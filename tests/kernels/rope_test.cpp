// RoPE: both pair layouts rotate by position * theta^(-2i/d), the layouts are
// the GGUF Q/K row permutation of each other, and linear / Llama-3 scaling
// change the frequencies the way HF's rope_init functions do.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "cpu/rope.hpp"
#include "kernels/random_weights.hpp"

using namespace actorlm;
using namespace actorlm::cpu;

namespace {

std::vector<float> rotate(const rope_table& t, std::vector<float> x, int32_t pos, int64_t heads) {
    const int64_t half = t.head_dim / 2;
    std::vector<float> c(static_cast<size_t>(half)), s(static_cast<size_t>(half));
    rope_angles(t, &pos, 1, c.data(), s.data());
    apply_rope(t, x.data(), heads, c.data(), s.data());
    return x;
}

}  // namespace

TEST_CASE("rope: interleaved pairs rotate by pos * theta^(-2i/d)") {
    const int64_t d = 8;
    const rope_table t = make_rope_table(d, 10000.0, false, {});
    const std::vector<float> x = test::random_vector(2 * d, 1);
    const int32_t pos = 37;
    const std::vector<float> y = rotate(t, x, pos, 2);
    for (int64_t h = 0; h < 2; ++h)
        for (int64_t i = 0; i < d / 2; ++i) {
            const double a = pos * std::pow(10000.0, -2.0 * i / d);
            const double x0 = x[h * d + 2 * i], x1 = x[h * d + 2 * i + 1];
            CHECK(y[h * d + 2 * i] ==
                  doctest::Approx(x0 * std::cos(a) - x1 * std::sin(a)).epsilon(1e-6));
            CHECK(y[h * d + 2 * i + 1] ==
                  doctest::Approx(x0 * std::sin(a) + x1 * std::cos(a)).epsilon(1e-6));
        }
}

TEST_CASE("rope: NeoX halves equal interleaved pairs under the GGUF row permutation") {
    // GGUF's converter reorders each head's rows from (i, i + d/2) to (2i, 2i + 1).
    const int64_t d = 16, heads = 3;
    const rope_table neox = make_rope_table(d, 500000.0, true, {});
    const rope_table inter = make_rope_table(d, 500000.0, false, {});
    const std::vector<float> x = test::random_vector(static_cast<size_t>(d * heads), 2);
    std::vector<float> xp(x.size());
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < d / 2; ++i) {
            xp[h * d + 2 * i] = x[h * d + i];
            xp[h * d + 2 * i + 1] = x[h * d + i + d / 2];
        }
    for (int32_t pos : {0, 1, 511, 4000}) {
        const std::vector<float> a = rotate(neox, x, pos, heads);
        const std::vector<float> b = rotate(inter, xp, pos, heads);
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < d / 2; ++i) {
                CHECK(b[h * d + 2 * i] == doctest::Approx(a[h * d + i]).epsilon(1e-6));
                CHECK(b[h * d + 2 * i + 1] == doctest::Approx(a[h * d + i + d / 2]).epsilon(1e-6));
            }
    }
}

TEST_CASE("rope: position 0 is the identity and norms are preserved") {
    const rope_table t = make_rope_table(64, 10000.0, true, {});
    const std::vector<float> x = test::random_vector(64, 3);
    CHECK(rotate(t, x, 0, 1) == x);
    const std::vector<float> y = rotate(t, x, 1234, 1);
    double nx = 0, ny = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        nx += x[i] * x[i];
        ny += y[i] * y[i];
    }
    CHECK(ny == doctest::Approx(nx).epsilon(1e-5));
}

TEST_CASE("rope: linear scaling divides every frequency by the factor") {
    rope_scaling s;
    s.type = rope_scaling_type::linear;
    s.factor = 4.0f;
    const rope_table plain = make_rope_table(32, 10000.0, true, {});
    const rope_table scaled = make_rope_table(32, 10000.0, true, s);
    for (size_t i = 0; i < plain.inv_freq.size(); ++i)
        CHECK(scaled.inv_freq[i] == doctest::Approx(plain.inv_freq[i] / 4.0).epsilon(1e-12));
}

TEST_CASE("rope: llama3 scaling keeps short wavelengths, slows long ones, blends between") {
    // Llama 3.1 8B: theta 5e5, head_dim 128, factor 8, low 1, high 4, original context 8192.
    rope_scaling s;
    s.type = rope_scaling_type::llama3;
    s.factor = 8.0f;
    s.low_freq_factor = 1.0f;
    s.high_freq_factor = 4.0f;
    s.original_max_position = 8192;
    const rope_table plain = make_rope_table(128, 500000.0, true, {});
    const rope_table scaled = make_rope_table(128, 500000.0, true, s);
    int kept = 0, slowed = 0, blended = 0;
    for (size_t i = 0; i < plain.inv_freq.size(); ++i) {
        const double f = plain.inv_freq[i], g = scaled.inv_freq[i];
        const double wavelen = 2 * std::numbers::pi / f;
        if (wavelen < 8192.0 / 4) {
            CHECK(g == f);
            ++kept;
        } else if (wavelen > 8192.0) {
            CHECK(g == doctest::Approx(f / 8).epsilon(1e-12));
            ++slowed;
        } else {
            const double smooth = (8192.0 / wavelen - 1.0) / 3.0;
            CHECK(g == doctest::Approx((1 - smooth) * f / 8 + smooth * f).epsilon(1e-12));
            CHECK(g < f);
            CHECK(g > f / 8);
            ++blended;
        }
    }
    // All three regimes occur for this configuration.
    CHECK(kept > 0);
    CHECK(slowed > 0);
    CHECK(blended > 0);
    // Pair 0 is the highest frequency: untouched, angle at position 1 is exactly 1 rad.
    CHECK(scaled.inv_freq[0] == 1.0);
}

TEST_CASE("rope: M-RoPE pairs take the temporal, height or width position of their section") {
    // Qwen2.5-VL's tiny text model: head_dim 16, sections [2, 3, 3].
    const rope_table t = make_rope_table(16, 10000.0, true, {});
    const std::vector<int32_t> section = {2, 3, 3};
    const std::vector<int32_t> positions3 = {4, 9, 11,   // an image token: t, h, w
                                             7, 7, 7};   // a text token
    std::vector<float> c(16), s(16);
    mrope_angles(t, section, positions3.data(), 2, c.data(), s.data());
    for (int64_t i = 0; i < 8; ++i) {
        const int32_t pos = i < 2 ? 4 : i < 5 ? 9 : 11;
        const double a = pos * std::pow(10000.0, -2.0 * static_cast<double>(i) / 16.0);
        CHECK(c[static_cast<size_t>(i)] == doctest::Approx(std::cos(a)).epsilon(1e-6));
        CHECK(s[static_cast<size_t>(i)] == doctest::Approx(std::sin(a)).epsilon(1e-6));
    }
    // three equal positions are ordinary RoPE, bit for bit
    std::vector<float> c1(8), s1(8);
    const int32_t pos = 7;
    rope_angles(t, &pos, 1, c1.data(), s1.data());
    for (size_t i = 0; i < 8; ++i) {
        CHECK(c[8 + i] == c1[i]);
        CHECK(s[8 + i] == s1[i]);
    }
}

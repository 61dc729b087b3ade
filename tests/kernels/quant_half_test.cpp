// half: fp16/bf16 conversions are exact where the formats say so and round to
// nearest-even otherwise; every cpu level's bulk converter equals the scalar one.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cpu/half.hpp"
#include "kernels/level_guard.hpp"
#include <bit>

using namespace actorlm;

namespace {

// Independent reference: value of fp16 bits by the textbook formula.
double fp16_value(uint16_t h) {
    const int sign = (h >> 15) ? -1 : 1;
    const int exp = (h >> 10) & 0x1f;
    const int mant = h & 0x3ff;
    if (exp == 0) return sign * std::ldexp(mant, -24);
    if (exp == 31)
        return mant ? std::numeric_limits<double>::quiet_NaN()
                    : sign * std::numeric_limits<double>::infinity();
    return sign * std::ldexp(1024 + mant, exp - 25);
}

}  // namespace

TEST_CASE("quant_fp16_to_fp32_exact_for_all_65536_values") {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = cpu::fp16_to_fp32(static_cast<uint16_t>(h));
        const double want = fp16_value(static_cast<uint16_t>(h));
        if (std::isnan(want)) {
            REQUIRE(std::isnan(f));
        } else {
            REQUIRE(static_cast<double>(f) == want);
            // Round trip returns the same bits (NaNs excluded).
            REQUIRE(cpu::fp32_to_fp16(f) == h);
        }
    }
}

TEST_CASE("quant_fp32_to_fp16_rounds_to_nearest_even") {
    CHECK(cpu::fp32_to_fp16(1.0f) == 0x3c00);
    CHECK(cpu::fp32_to_fp16(65504.0f) == 0x7bff);
    CHECK(cpu::fp32_to_fp16(65519.0f) == 0x7bff);  // below the halfway point to 65536
    CHECK(cpu::fp32_to_fp16(65520.0f) == 0x7c00);  // halfway: rounds to even = inf
    CHECK(cpu::fp32_to_fp16(1e10f) == 0x7c00);
    CHECK(cpu::fp32_to_fp16(-1e10f) == 0xfc00);
    CHECK(cpu::fp32_to_fp16(std::ldexp(1.0f, -24)) == 0x0001);         // smallest subnormal
    CHECK(cpu::fp32_to_fp16(std::ldexp(1.0f, -25)) == 0x0000);         // tie -> even (0)
    CHECK(cpu::fp32_to_fp16(std::ldexp(3.0f, -25)) == 0x0002);         // 1.5 ulp tie -> 2
    CHECK(cpu::fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie -> even
    CHECK(cpu::fp32_to_fp16(1.0f + std::ldexp(3.0f, -11)) == 0x3c02);  // tie -> even (up)
    CHECK((cpu::fp32_to_fp16(std::numeric_limits<float>::quiet_NaN()) & 0x7fff) > 0x7c00);
    CHECK(cpu::fp32_to_fp16(-0.0f) == 0x8000);
    // Random values: the result is one of the two neighbours and the nearer one.
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uni(-70000.0f, 70000.0f);
    for (int i = 0; i < 100000; ++i) {
        const float f = uni(rng) * std::ldexp(1.0f, -(i % 30));
        const uint16_t h = cpu::fp32_to_fp16(f);
        const double got = fp16_value(h);
        if (std::isinf(got)) {
            REQUIRE(std::fabs(f) >= 65520.0f);
            continue;
        }
        const uint16_t other =
            static_cast<uint16_t>(h + ((std::fabs(got) < std::fabs(f)) ? 1 : -1));
        REQUIRE(std::fabs(got - f) <= std::fabs(fp16_value(other) - f));
    }
}

TEST_CASE("quant_bf16_conversions") {
    CHECK(cpu::fp32_to_bf16(1.0f) == 0x3f80);
    CHECK(cpu::bf16_to_fp32(0x3f80) == 1.0f);
    // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties to even.
    CHECK(cpu::fp32_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);
    CHECK(cpu::fp32_to_bf16(1.0f + std::ldexp(3.0f, -8)) == 0x3f82);
    CHECK(cpu::fp32_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3f81);
    CHECK(
        std::isnan(cpu::bf16_to_fp32(cpu::fp32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
    for (uint32_t h = 0; h < 65536; h += 7) {
        const float f = cpu::bf16_to_fp32(static_cast<uint16_t>(h));
        CHECK(std::bit_cast<uint32_t>(f) == h << 16);
    }
}

TEST_CASE("quant_bulk_conversions_equal_scalar_at_every_level") {
    std::vector<uint16_t> halves(1000 + 13);
    for (size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<uint16_t>(i * 65 + 3);
    std::vector<float> floats(halves.size());
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> uni(-3.0f, 3.0f);
    for (auto& f : floats) f = uni(rng);
    for (auto level : test::supported_levels()) {
        test::level_guard guard(level);
        CAPTURE(cpu::cpu_level_name(level));
        for (int64_t n :
             {int64_t{0}, int64_t{5}, int64_t{16}, static_cast<int64_t>(halves.size())}) {
            std::vector<float> out(static_cast<size_t>(n));
            cpu::fp16_to_fp32_row(halves.data(), out.data(), n);
            for (int64_t i = 0; i < n; ++i) {
                const float want = cpu::fp16_to_fp32(halves[static_cast<size_t>(i)]);
                REQUIRE((std::bit_cast<uint32_t>(out[static_cast<size_t>(i)]) ==
                             std::bit_cast<uint32_t>(want) ||
                         std::isnan(want)));
            }
            cpu::bf16_to_fp32_row(halves.data(), out.data(), n);
            for (int64_t i = 0; i < n; ++i)
                REQUIRE(std::bit_cast<uint32_t>(out[static_cast<size_t>(i)]) ==
                        uint32_t{halves[static_cast<size_t>(i)]} << 16);
            std::vector<uint16_t> back(static_cast<size_t>(n));
            cpu::fp32_to_fp16_row(floats.data(), back.data(), n);
            for (int64_t i = 0; i < n; ++i)
                REQUIRE(back[static_cast<size_t>(i)] ==
                        cpu::fp32_to_fp16(floats[static_cast<size_t>(i)]));
            cpu::fp32_to_bf16_row(floats.data(), back.data(), n);
            for (int64_t i = 0; i < n; ++i)
                REQUIRE(back[static_cast<size_t>(i)] ==
                        cpu::fp32_to_bf16(floats[static_cast<size_t>(i)]));
        }
    }
}

// Scalar fp16/bf16 conversions and the Q8_0/Q4_0 codecs the model writers use:
// exact where the format is exact, ggml's rounding where it is not.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "base/float_bits.hpp"
#include "model/tensor_codec.hpp"

using namespace actorlm;

TEST_CASE("fp16 conversion round-trips every half value and rounds to nearest even") {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        float f = float_bits::from_f16(uint16_t(h));
        if (std::isnan(f)) {
            CHECK((float_bits::to_f16(f) & 0x7c00) == 0x7c00);
            continue;
        }
        REQUIRE_MESSAGE(float_bits::to_f16(f) == h, "half 0x" << std::hex << h);
    }
    CHECK(float_bits::from_f16(0x3c00) == 1.0f);
    CHECK(float_bits::from_f16(0x0001) == std::ldexp(1.0f, -24));           // smallest subnormal
    CHECK(float_bits::to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);      // tie -> even
    CHECK(float_bits::to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie -> even (up)
    CHECK(float_bits::to_f16(65520.0f) == 0x7c00);                          // overflow -> inf
    CHECK(float_bits::to_f16(65519.0f) == 0x7bff);
    CHECK(float_bits::to_f16(std::ldexp(1.0f, -25)) == 0);  // half of the smallest subnormal: even
    CHECK(float_bits::to_f16(std::ldexp(1.5f, -25)) == 1);
}

TEST_CASE("bf16 conversion keeps the top half and rounds to nearest even") {
    CHECK(float_bits::from_bf16(0x3f80) == 1.0f);
    CHECK(float_bits::to_bf16(1.0f) == 0x3f80);
    CHECK(float_bits::to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);      // tie -> even
    CHECK(float_bits::to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);  // tie -> even (up)
    CHECK(std::isnan(
        float_bits::from_bf16(float_bits::to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("Q8_0 encoding follows ggml's reference quantizer") {
    std::vector<float> x(64);
    for (int i = 0; i < 64; ++i) x[size_t(i)] = std::sin(float(i)) * (i < 32 ? 1.0f : 0.01f);
    auto q = encode_f32(dtype::q8_0, x.data(), 64);
    REQUIRE(q.size() == 68);
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[size_t(i)]));
    uint16_t d;
    std::memcpy(&d, q.data(), 2);
    CHECK(d == float_bits::to_f16(amax / 127.0f));
    std::vector<float> y(64);
    decode_f32(dtype::q8_0, q.data(), 64, y.data());
    for (int i = 0; i < 64; ++i) {
        float scale = i < 32 ? 1.0f : 0.01f;
        CHECK(std::fabs(y[size_t(i)] - x[size_t(i)]) <= scale / 127.0f);
    }
    std::vector<float> zeros(32, 0.0f), out(32, 1.0f);
    auto qz = encode_f32(dtype::q8_0, zeros.data(), 32);
    decode_f32(dtype::q8_0, qz.data(), 32, out.data());
    CHECK(out == zeros);  // an all-zero block has d = 0 and decodes to zeros
}

TEST_CASE("Q4_0 decoding puts low nibbles first") {
    std::vector<uint8_t> block(18);
    uint16_t d = float_bits::to_f16(0.5f);
    std::memcpy(block.data(), &d, 2);
    for (int j = 0; j < 16; ++j) block[size_t(2 + j)] = uint8_t((15 - j) << 4 | j);
    std::vector<float> y(32);
    decode_f32(dtype::q4_0, block.data(), 32, y.data());
    CHECK(y[0] == -4.0f);  // (0 - 8) * 0.5
    CHECK(y[15] == 3.5f);  // (15 - 8) * 0.5
    CHECK(y[16] == 3.5f);  // high nibble of byte 0 = 15
    CHECK(y[31] == -4.0f);
}

TEST_CASE("convert_tensor copies same-type data and refuses what it cannot convert") {
    std::vector<float> v = {1, 2, 3, 4};
    tensor t;
    t.name = "w";
    t.type = dtype::f32;
    t.shape = {2, 2};
    t.data = v.data();
    t.num_bytes = 16;
    auto same = convert_tensor(t, dtype::f32);
    REQUIRE(same.ok());
    CHECK(std::memcmp(same->data(), v.data(), 16) == 0);
    auto half = convert_tensor(t, dtype::f16);
    REQUIRE(half.ok());
    CHECK(half->size() == 8);
    auto q8 = convert_tensor(t, dtype::q8_0);
    REQUIRE_FALSE(q8.ok());
    CHECK(q8.message().find("tensor 'w'") != std::string::npos);
    t.type = dtype::q4_k;
    auto k = convert_tensor(t, dtype::f32);
    REQUIRE_FALSE(k.ok());
    CHECK(k.message().find("converting Q4_K to F32 is not supported") != std::string::npos);
}

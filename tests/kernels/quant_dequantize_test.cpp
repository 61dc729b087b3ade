// dequantize: blocks packed here by an independent encoder (the inverse of the
// ggml layout descriptions) decode to ggml's values bit for bit, for every type
// and cpu level; bad lengths are rejected by the caller-facing checks.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <vector>

#include "cpu/dequantize.hpp"
#include "cpu/half.hpp"
#include "cpu/quant_blocks.hpp"
#include "kernels/level_guard.hpp"
#include <bit>

using namespace actorlm;
using namespace actorlm::cpu;

namespace {

void require_same_bits(const std::vector<float>& got, const std::vector<float>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        REQUIRE(std::bit_cast<uint32_t>(got[i]) == std::bit_cast<uint32_t>(want[i]));
    }
}

}  // namespace

TEST_CASE("quant_dequantize_q8_0_and_q4_0") {
    std::mt19937 rng(1);
    std::vector<block_q8_0> q8(3);
    std::vector<block_q4_0> q4(3);
    std::vector<float> want8, want4;
    for (int b = 0; b < 3; ++b) {
        const float d = fp16_to_fp32(fp32_to_fp16(0.01f * static_cast<float>(b + 1)));
        q8[b].d = q4[b].d = fp32_to_fp16(d);
        int v4[32];
        for (int j = 0; j < 32; ++j) {
            q8[b].qs[j] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
            v4[j] = static_cast<int>(rng() % 16);
            want8.push_back(static_cast<float>(q8[b].qs[j]) * d);
        }
        for (int j = 0; j < 16; ++j) q4[b].qs[j] = static_cast<uint8_t>(v4[j] | (v4[j + 16] << 4));
        for (int j = 0; j < 32; ++j) want4.push_back(static_cast<float>(v4[j] - 8) * d);
    }
    std::vector<float> got(96);
    dequantize_row(dtype::q8_0, q8.data(), got.data(), 96);
    require_same_bits(got, want8);
    dequantize_row(dtype::q4_0, q4.data(), got.data(), 96);
    require_same_bits(got, want4);
}

TEST_CASE("quant_dequantize_q5_0_joins_nibbles_and_fifth_bits") {
    // Weight j takes its low 4 bits from nibble j%16 of qs (high nibble for j >= 16)
    // and its 5th bit from bit j of qh: x = d * (q5 - 16).
    std::mt19937 rng(2);
    std::vector<block_q5_0> q5(3);
    std::vector<float> want;
    for (int b = 0; b < 3; ++b) {
        const float d = fp16_to_fp32(fp32_to_fp16(0.02f * static_cast<float>(b + 1)));
        q5[b].d = fp32_to_fp16(d);
        int v[32];
        uint32_t qh = 0;
        for (int j = 0; j < 32; ++j) {
            v[j] = static_cast<int>(rng() % 32);
            if (v[j] & 16) qh |= 1u << j;
            want.push_back(static_cast<float>(v[j] - 16) * d);
        }
        for (int j = 0; j < 16; ++j)
            q5[b].qs[j] = static_cast<uint8_t>((v[j] & 15) | ((v[j + 16] & 15) << 4));
        std::memcpy(q5[b].qh, &qh, 4);
    }
    std::vector<float> got(96);
    dequantize_row(dtype::q5_0, q5.data(), got.data(), 96);
    require_same_bits(got, want);
}

TEST_CASE("quant_dequantize_q4_k_unpacks_6bit_scales_and_mins") {
    std::mt19937 rng(2);
    block_q4_k b{};
    const float d = 0.0123f, dmin = 0.0031f;
    b.d = fp32_to_fp16(d);
    b.dmin = fp32_to_fp16(dmin);
    uint8_t sc[8], mn[8], q[256];
    for (int j = 0; j < 8; ++j) {
        sc[j] = static_cast<uint8_t>(rng() % 64);
        mn[j] = static_cast<uint8_t>(rng() % 64);
    }
    sc[7] = 63;  // exercise the top bits of the high sub-blocks
    mn[4] = 48;
    // Encoder: sub-blocks 0-3 keep 6 bits in bytes 0-3 / 4-7; sub-blocks 4-7 put
    // their low 4 bits in bytes 8-11 and their top 2 bits above those of 0-3.
    for (int j = 0; j < 4; ++j) {
        b.scales[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
        b.scales[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
        b.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
    }
    for (int i = 0; i < 256; ++i) q[i] = static_cast<uint8_t>(rng() % 16);
    // Sub-block 2k is the low nibbles of bytes 32k..32k+31, 2k+1 the high ones.
    for (int k = 0; k < 4; ++k)
        for (int l = 0; l < 32; ++l)
            b.qs[32 * k + l] = static_cast<uint8_t>(q[64 * k + l] | (q[64 * k + 32 + l] << 4));
    const float dd = fp16_to_fp32(b.d), dm = fp16_to_fp32(b.dmin);
    std::vector<float> want(256);
    for (int i = 0; i < 256; ++i) {
        const int j = i / 32;
        want[static_cast<size_t>(i)] = (dd * static_cast<float>(sc[j])) * static_cast<float>(q[i]) -
                                       dm * static_cast<float>(mn[j]);
    }
    std::vector<float> got(256);
    dequantize_row(dtype::q4_k, &b, got.data(), 256);
    require_same_bits(got, want);
}

TEST_CASE("quant_dequantize_q6_k_combines_low_and_high_bits") {
    std::mt19937 rng(3);
    block_q6_k b{};
    b.d = fp32_to_fp16(0.0071f);
    int q[256];
    for (int& v : q) v = static_cast<int>(rng() % 64);
    for (int s = 0; s < 16; ++s)
        b.scales[s] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    // Encoder: weight h*128 + k*32 + l keeps its low nibble in ql[64h + (k%2)*32 + l]
    // (low half for k<2, high half for k>=2) and its top 2 bits at bit 2k of qh[32h + l].
    for (int h = 0; h < 2; ++h)
        for (int k = 0; k < 4; ++k)
            for (int l = 0; l < 32; ++l) {
                const int v = q[h * 128 + k * 32 + l];
                uint8_t& lo = b.ql[64 * h + (k % 2) * 32 + l];
                lo = static_cast<uint8_t>(lo | ((v & 0xF) << (k >= 2 ? 4 : 0)));
                uint8_t& hi = b.qh[32 * h + l];
                hi = static_cast<uint8_t>(hi | ((v >> 4) << (2 * k)));
            }
    const float d = fp16_to_fp32(b.d);
    std::vector<float> want(256);
    for (int i = 0; i < 256; ++i) {
        const int h = i / 128, k = (i % 128) / 32, l = i % 32;
        const int s = 8 * h + 2 * k + l / 16;
        want[static_cast<size_t>(i)] =
            d * static_cast<float>(b.scales[s]) * static_cast<float>(q[i] - 32);
    }
    std::vector<float> got(256);
    dequantize_row(dtype::q6_k, &b, got.data(), 256);
    require_same_bits(got, want);
}

TEST_CASE("quant_dequantize_float_types_at_every_level") {
    std::vector<float> src(37);
    for (size_t i = 0; i < src.size(); ++i) src[i] = 0.37f * static_cast<float>(i) - 5.0f;
    std::vector<uint16_t> h(src.size()), bf(src.size());
    for (size_t i = 0; i < src.size(); ++i) {
        h[i] = fp32_to_fp16(src[i]);
        bf[i] = fp32_to_bf16(src[i]);
    }
    for (auto level : test::supported_levels()) {
        test::level_guard guard(level);
        std::vector<float> got(src.size()), want(src.size());
        dequantize_row(dtype::f32, src.data(), got.data(), 37);
        require_same_bits(got, src);
        dequantize_row(dtype::f16, h.data(), got.data(), 37);
        for (size_t i = 0; i < src.size(); ++i) want[i] = fp16_to_fp32(h[i]);
        require_same_bits(got, want);
        dequantize_row(dtype::bf16, bf.data(), got.data(), 37);
        for (size_t i = 0; i < src.size(); ++i) want[i] = bf16_to_fp32(bf[i]);
        require_same_bits(got, want);
    }
}

// half: conversions between fp32 and the 16-bit float formats used by weights
// (IEEE fp16, bfloat16). Scalar functions are exact (fp16 subnormals, inf and NaN
// included) and rounding is to nearest-even, matching ggml; the bulk functions
// use the widest vector unit the active cpu level allows. Thread-safe, no state.
#pragma once

#include <cstdint>
#include <cstring>

namespace actorlm::cpu {

/// fp16 bits -> fp32, exact for every input (subnormals, inf, NaN).
inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);  // inf / NaN keep their payload
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {
        // Subnormal: normalize the mantissa; its value is mant * 2^-24.
        int e = -1;
        do {
            mant <<= 1;
            ++e;
        } while ((mant & 0x400u) == 0);
        bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

/// fp32 -> fp16 bits, round to nearest-even; overflow gives inf, NaN stays NaN.
uint16_t fp32_to_fp16(float f);

/// bf16 bits -> fp32 (exact: bf16 is the top half of an fp32).
inline float bf16_to_fp32(uint16_t h) {
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

/// fp32 -> bf16 bits, round to nearest-even; NaN stays a quiet NaN (as ggml does).
inline uint16_t fp32_to_bf16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 64);
    return static_cast<uint16_t>((bits + (0x7fffu + ((bits >> 16) & 1u))) >> 16);
}

/// Bulk conversions of n values; src and dst must not overlap.
void fp16_to_fp32_row(const uint16_t* src, float* dst, int64_t n);
void fp32_to_fp16_row(const float* src, uint16_t* dst, int64_t n);
void bf16_to_fp32_row(const uint16_t* src, float* dst, int64_t n);
void fp32_to_bf16_row(const float* src, uint16_t* dst, int64_t n);

}  // namespace actorlm::cpu

// half: the scalar fp32->fp16 rounding and the bulk converters' dispatch; the
// vector loops live in half_avx2.cpp / half_avx512.cpp (F16C and AVX-512 give
// the same round-to-nearest-even results as the scalar code).
#include "cpu/half.hpp"

#include "cpu/cpu_features.hpp"

namespace actorlm::cpu {

namespace detail {
void fp16_to_fp32_row_avx2(const uint16_t* src, float* dst, int64_t n);
void fp32_to_fp16_row_avx2(const float* src, uint16_t* dst, int64_t n);
void bf16_to_fp32_row_avx2(const uint16_t* src, float* dst, int64_t n);
void fp16_to_fp32_row_avx512(const uint16_t* src, float* dst, int64_t n);
void bf16_to_fp32_row_avx512(const uint16_t* src, float* dst, int64_t n);
}  // namespace detail

uint16_t fp32_to_fp16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, sizeof x);
    const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) return sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u);  // NaN / inf
    if (x >= 0x47800000u) return sign | 0x7c00u;  // >= 65536: overflows to inf
    if (x < 0x38800000u) {
        // Below the smallest normal fp16 (2^-14): subnormal result m * 2^-24.
        if (x < 0x33000000u) return sign;  // < 2^-25 (ties at 2^-25 go to even = 0)
        const uint32_t e = x >> 23;
        const uint32_t mant = (x & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - e;  // 14..24
        uint32_t m = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (m & 1u))) ++m;
        return static_cast<uint16_t>(sign | m);
    }
    // Normal: rebias the exponent; a carry out of the mantissa rounds up the
    // exponent (65520 and above become inf, as IEEE requires).
    uint32_t h = (x - 0x38000000u) >> 13;
    const uint32_t rem = x & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
}

void fp16_to_fp32_row(const uint16_t* src, float* dst, int64_t n) {
    switch (active_cpu_level()) {
        case cpu_level::avx512: detail::fp16_to_fp32_row_avx512(src, dst, n); return;
        case cpu_level::avx2: detail::fp16_to_fp32_row_avx2(src, dst, n); return;
        case cpu_level::portable: break;
    }
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}

void fp32_to_fp16_row(const float* src, uint16_t* dst, int64_t n) {
    if (active_cpu_level() != cpu_level::portable) {
        detail::fp32_to_fp16_row_avx2(src, dst, n);
        return;
    }
    for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
}

void bf16_to_fp32_row(const uint16_t* src, float* dst, int64_t n) {
    switch (active_cpu_level()) {
        case cpu_level::avx512: detail::bf16_to_fp32_row_avx512(src, dst, n); return;
        case cpu_level::avx2: detail::bf16_to_fp32_row_avx2(src, dst, n); return;
        case cpu_level::portable: break;
    }
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(src[i]);
}

void fp32_to_bf16_row(const float* src, uint16_t* dst, int64_t n) {
    // Rare (tests, weight conversion at load); the scalar loop vectorizes well enough.
    for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_bf16(src[i]);
}

}  // namespace actorlm::cpu

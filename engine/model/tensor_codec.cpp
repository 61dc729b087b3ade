// Block formats (ggml): Q8_0 = f16 d + 32 int8, x = d * q; Q4_0 = f16 d + 16 bytes,
// low nibbles are elements 0..15 and high nibbles 16..31, x = d * (nibble - 8);
// Q5_0 = f16 d + 32 bits of 5th bits (bit j: element j) + Q4_0's nibbles, x = d * (q5 - 16).
// Stateless and thread-safe; callers guarantee n is a multiple of the block size.
#include "model/tensor_codec.hpp"

#include <cmath>
#include <cstring>

#include "base/float_bits.hpp"
#include "base/check.hpp"

namespace actorlm {

bool can_decode(dtype t) {
    return t == dtype::f32 || t == dtype::f16 || t == dtype::bf16 || t == dtype::q8_0 ||
           t == dtype::q4_0 || t == dtype::q5_0;
}

bool can_encode(dtype t) {
    return t == dtype::f32 || t == dtype::f16 || t == dtype::bf16 || t == dtype::q8_0;
}

void decode_f32(dtype t, const void* src, int64_t n, float* dst) {
    ACTORLM_CHECK(can_decode(t), "decode_f32: cannot decode %s", dtype_name(t));
    const auto* p = static_cast<const uint8_t*>(src);
    switch (t) {
        case dtype::f32: std::memcpy(dst, p, size_t(n) * 4); return;
        case dtype::f16:
        case dtype::bf16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                dst[i] = t == dtype::f16 ? float_bits::from_f16(h) : float_bits::from_bf16(h);
            }
            return;
        case dtype::q8_0:
            for (int64_t b = 0; b < n / 32; ++b, p += 34) {
                uint16_t dh;
                std::memcpy(&dh, p, 2);
                const float d = float_bits::from_f16(dh);
                for (int j = 0; j < 32; ++j) dst[b * 32 + j] = d * float(int8_t(p[2 + j]));
            }
            return;
        case dtype::q4_0:
            for (int64_t b = 0; b < n / 32; ++b, p += 18) {
                uint16_t dh;
                std::memcpy(&dh, p, 2);
                const float d = float_bits::from_f16(dh);
                for (int j = 0; j < 16; ++j) {
                    dst[b * 32 + j] = d * float((p[2 + j] & 0x0f) - 8);
                    dst[b * 32 + j + 16] = d * float((p[2 + j] >> 4) - 8);
                }
            }
            return;
        case dtype::q5_0:
            for (int64_t b = 0; b < n / 32; ++b, p += 22) {
                uint16_t dh;
                uint32_t qh;
                std::memcpy(&dh, p, 2);
                std::memcpy(&qh, p + 2, 4);
                const float d = float_bits::from_f16(dh);
                for (int j = 0; j < 16; ++j) {
                    const uint8_t q = p[6 + j];
                    dst[b * 32 + j] = d * float(int((q & 0x0f) | (((qh >> j) & 1u) << 4)) - 16);
                    dst[b * 32 + j + 16] =
                        d * float(int((q >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16);
                }
            }
            return;
        default: return;
    }
}

std::vector<uint8_t> encode_f32(dtype t, const float* src, int64_t n) {
    ACTORLM_CHECK(can_encode(t), "encode_f32: cannot encode %s", dtype_name(t));
    ACTORLM_CHECK(n % dtype_block_elems(t) == 0, "encode_f32: %lld values for %s blocks",
                  (long long)n, dtype_name(t));
    std::vector<uint8_t> out(dtype_row_bytes(t, n));
    uint8_t* p = out.data();
    switch (t) {
        case dtype::f32: std::memcpy(p, src, out.size()); break;
        case dtype::f16:
        case dtype::bf16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h =
                    t == dtype::f16 ? float_bits::to_f16(src[i]) : float_bits::to_bf16(src[i]);
                std::memcpy(p + 2 * i, &h, 2);
            }
            break;
        case dtype::q8_0:
            // ggml's quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d).
            for (int64_t b = 0; b < n / 32; ++b, p += 34) {
                const float* x = src + b * 32;
                float amax = 0.0f;
                for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
                const float d = amax / 127.0f;
                const float id = d != 0.0f ? 1.0f / d : 0.0f;
                uint16_t dh = float_bits::to_f16(d);
                std::memcpy(p, &dh, 2);
                for (int j = 0; j < 32; ++j) p[2 + j] = uint8_t(int8_t(std::roundf(x[j] * id)));
            }
            break;
        default: break;
    }
    return out;
}

result<std::vector<float>> tensor_to_f32(const tensor& src) {
    if (!can_decode(src.type))
        return make_error("tensor '%s': cannot decode %s", src.name.c_str(), dtype_name(src.type));
    std::vector<float> out(size_t(src.num_elements()));
    decode_f32(src.type, src.data, src.num_elements(), out.data());
    return out;
}

result<std::vector<uint8_t>> convert_tensor(const tensor& src, dtype target) {
    const auto* p = static_cast<const uint8_t*>(src.data);
    if (src.type == target) return std::vector<uint8_t>(p, p + src.num_bytes);
    if (!can_decode(src.type) || !can_encode(target))
        return make_error("tensor '%s': converting %s to %s is not supported", src.name.c_str(),
                          dtype_name(src.type), dtype_name(target));
    if (src.cols() % dtype_block_elems(target) != 0)
        return make_error("tensor '%s': row length %lld is not a multiple of the %s block size",
                          src.name.c_str(), (long long)src.cols(), dtype_name(target));
    auto values = tensor_to_f32(src);
    if (!values) return values.err();
    return encode_f32(target, values->data(), src.num_elements());
}

}  // namespace actorlm

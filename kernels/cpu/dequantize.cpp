// dequantize: scalar block decoders in ggml's operation order (see the header);
// fp16/bf16 rows go through the vectorized bulk converters in half.cpp. Each
// decoder reads whole blocks only; dequantize_row checks n against the block size.
#include "cpu/dequantize.hpp"

#include "cpu/half.hpp"
#include "cpu/quant_blocks.hpp"
#include "base/check.hpp"

#include <cstring>

namespace actorlm::cpu {
namespace {

void dequantize_q8_0(const block_q8_0* b, float* y, int64_t num_blocks) {
    for (int64_t i = 0; i < num_blocks; ++i, y += 32) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
    }
}

void dequantize_q4_0(const block_q4_0* b, float* y, int64_t num_blocks) {
    for (int64_t i = 0; i < num_blocks; ++i, y += 32) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = static_cast<float>((b[i].qs[j] & 0xF) - 8) * d;
            y[j + 16] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_q5_0(const block_q5_0* b, float* y, int64_t num_blocks) {
    for (int64_t i = 0; i < num_blocks; ++i, y += 32) {
        const float d = fp16_to_fp32(b[i].d);
        uint32_t qh;
        std::memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < 16; ++j) {
            const int lo = (b[i].qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (b[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
            y[j] = static_cast<float>(lo - 16) * d;
            y[j + 16] = static_cast<float>(hi - 16) * d;
        }
    }
}

void dequantize_q4_k(const block_q4_k* b, float* y, int64_t num_blocks) {
    for (int64_t i = 0; i < num_blocks; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        const float dmin = fp16_to_fp32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        for (int j = 0; j < 8; j += 2, q += 32) {
            uint8_t sc = 0, m = 0;
            q4_k_scale_min(j, b[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            q4_k_scale_min(j + 1, b[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        }
    }
}

// Per 128 weights: ql[0..63] low nibbles / high nibbles, qh[0..31] two bits each
// for the four 32-weight quarters; weight l of quarter k uses scale (l/16 + 2k).
void dequantize_q6_k(const block_q6_k* b, float* y, int64_t num_blocks) {
    for (int64_t i = 0; i < num_blocks; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        const uint8_t* ql = b[i].ql;
        const uint8_t* qh = b[i].qh;
        const int8_t* sc = b[i].scales;
        for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
                y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
                y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
                y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
            }
        }
    }
}

}  // namespace

void dequantize_row(dtype type, const void* src, float* dst, int64_t n) {
    const int64_t block = dtype_block_elems(type);
    ACTORLM_CHECK(block > 0 && n >= 0 && n % block == 0,
                  "dequantize_row: %lld elements is not a whole number of %s blocks",
                  static_cast<long long>(n), dtype_name(type));
    const int64_t num_blocks = n / block;
    switch (type) {
        case dtype::f32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
        case dtype::f16: fp16_to_fp32_row(static_cast<const uint16_t*>(src), dst, n); return;
        case dtype::bf16: bf16_to_fp32_row(static_cast<const uint16_t*>(src), dst, n); return;
        case dtype::q8_0:
            dequantize_q8_0(static_cast<const block_q8_0*>(src), dst, num_blocks);
            return;
        case dtype::q4_0:
            dequantize_q4_0(static_cast<const block_q4_0*>(src), dst, num_blocks);
            return;
        case dtype::q5_0:
            dequantize_q5_0(static_cast<const block_q5_0*>(src), dst, num_blocks);
            return;
        case dtype::q4_k:
            dequantize_q4_k(static_cast<const block_q4_k*>(src), dst, num_blocks);
            return;
        case dtype::q6_k:
            dequantize_q6_k(static_cast<const block_q6_k*>(src), dst, num_blocks);
            return;
    }
    ACTORLM_CHECK(false, "dequantize_row: unknown dtype %u", static_cast<unsigned>(type));
}

}  // namespace actorlm::cpu

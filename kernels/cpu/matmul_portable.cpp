// matmul_portable: plain C++ kernels for every weight type, the reference the
// vector levels are tested against and the fallback on old processors. Integer
// block dots are exact; float sums use 8 partial accumulators. Also holds the
// portable activation quantizer, whose rounding the vector one reproduces.
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/dequantize.hpp"
#include "cpu/half.hpp"
#include "cpu/matmul_kernels.hpp"
#include "cpu/quant_blocks.hpp"

namespace actorlm::cpu::detail {
namespace {

float dot_f32(const float* a, const float* b, int64_t n) {
    float acc[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
    for (; i < n; ++i) acc[0] += a[i] * b[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// f32 reads rows in place; f16/bf16 convert one row at a time, reused by all tokens.
void float_rows(const matmul_args& a, int64_t r0, int64_t r1, dtype type) {
    thread_local std::vector<float> row;
    row.resize(static_cast<size_t>(a.cols));
    for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* src = a.w + static_cast<size_t>(r) * a.row_bytes;
        const float* wr = reinterpret_cast<const float*>(src);
        if (type != dtype::f32) {
            dequantize_row(type, src, row.data(), a.cols);
            wr = row.data();
        }
        for (int64_t t = 0; t < a.num_tokens; ++t)
            a.y[t * a.rows + r] = dot_f32(wr, a.x + t * a.cols, a.cols);
    }
}

void f32_rows(const matmul_args& a, int64_t r0, int64_t r1) { float_rows(a, r0, r1, dtype::f32); }
void f16_rows(const matmul_args& a, int64_t r0, int64_t r1) { float_rows(a, r0, r1, dtype::f16); }
void bf16_rows(const matmul_args& a, int64_t r0, int64_t r1) { float_rows(a, r0, r1, dtype::bf16); }

// Calls body(t, row, qs, d, sums) for each row in range and token, where qs/d/sums
// point at the token's quantized activations; body returns the output value.
template <class Body>
void for_rows_tokens(const matmul_args& a, int64_t r0, int64_t r1, Body body) {
    for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* row = a.w + static_cast<size_t>(r) * a.row_bytes;
        for (int64_t t = 0; t < a.num_tokens; ++t) {
            a.y[t * a.rows + r] = body(row, a.xq.qs + t * a.cols, a.xq.d + t * (a.cols / 32),
                                       a.xq.sums + t * (a.cols / 16));
        }
    }
}

void q8_0_rows(const matmul_args& a, int64_t r0, int64_t r1) {
    const int64_t nb = a.cols / 32;
    for_rows_tokens(a, r0, r1,
                    [nb](const uint8_t* row, const int8_t* qs, const float* d, const int16_t*) {
                        const auto* b = reinterpret_cast<const block_q8_0*>(row);
                        float acc = 0;
                        for (int64_t i = 0; i < nb; ++i) {
                            int32_t s = 0;
                            for (int j = 0; j < 32; ++j) s += b[i].qs[j] * qs[i * 32 + j];
                            acc += static_cast<float>(s) * (fp16_to_fp32(b[i].d) * d[i]);
                        }
                        return acc;
                    });
}

// The 5th bits of a block's 32 weights (bit j: weight j); Q4_0 has none.
inline uint32_t fifth_bits(const block_q4_0&) { return 0; }
inline uint32_t fifth_bits(const block_q5_0& b) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    return qh;
}

// Q4_0 (offset 8) and Q5_0 (offset 16): byte j of qs holds weights j and j + 16.
template <class Block, int Offset>
void nibble_rows(const matmul_args& a, int64_t r0, int64_t r1) {
    const int64_t nb = a.cols / 32;
    for_rows_tokens(
        a, r0, r1, [nb](const uint8_t* row, const int8_t* qs, const float* d, const int16_t* sums) {
            const auto* b = reinterpret_cast<const Block*>(row);
            float acc = 0;
            for (int64_t i = 0; i < nb; ++i) {
                const int8_t* x = qs + i * 32;
                const uint32_t qh = fifth_bits(b[i]);
                int32_t s = 0;
                for (int j = 0; j < 16; ++j) {
                    const int32_t lo =
                        (b[i].qs[j] & 0xF) | static_cast<int32_t>(((qh >> j) & 1u) << 4);
                    const int32_t hi =
                        (b[i].qs[j] >> 4) | static_cast<int32_t>(((qh >> (j + 16)) & 1u) << 4);
                    s += lo * x[j] + hi * x[j + 16];
                }
                s -= Offset * (sums[2 * i] + sums[2 * i + 1]);
                acc += static_cast<float>(s) * (fp16_to_fp32(b[i].d) * d[i]);
            }
            return acc;
        });
}

void q4_k_rows(const matmul_args& a, int64_t r0, int64_t r1) {
    const int64_t nb = a.cols / 256;
    for_rows_tokens(
        a, r0, r1, [nb](const uint8_t* row, const int8_t* qs, const float* d, const int16_t* sums) {
            const auto* b = reinterpret_cast<const block_q4_k*>(row);
            float acc = 0;
            for (int64_t i = 0; i < nb; ++i) {
                const float dd = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
                for (int j = 0; j < 8; ++j) {
                    const int64_t xb = i * 8 + j;  // activation block of sub-block j
                    const int8_t* x = qs + xb * 32;
                    const uint8_t* q = b[i].qs + (j / 2) * 32;
                    const int shift = (j % 2) * 4;
                    int32_t s = 0;
                    for (int l = 0; l < 32; ++l) s += ((q[l] >> shift) & 0xF) * x[l];
                    uint8_t sc = 0, m = 0;
                    q4_k_scale_min(j, b[i].scales, sc, m);
                    const int32_t xsum = sums[2 * xb] + sums[2 * xb + 1];
                    acc += d[xb] *
                           (dd * static_cast<float>(sc * s) - dmin * static_cast<float>(m * xsum));
                }
            }
            return acc;
        });
}

void q6_k_rows(const matmul_args& a, int64_t r0, int64_t r1) {
    const int64_t nb = a.cols / 256;
    for_rows_tokens(
        a, r0, r1, [nb](const uint8_t* row, const int8_t* qs, const float* d, const int16_t* sums) {
            const auto* b = reinterpret_cast<const block_q6_k*>(row);
            float acc = 0;
            for (int64_t i = 0; i < nb; ++i) {
                const float dd = fp16_to_fp32(b[i].d);
                float block_acc = 0;
                for (int h = 0; h < 2; ++h) {
                    const uint8_t* ql = b[i].ql + 64 * h;
                    const uint8_t* qh = b[i].qh + 32 * h;
                    for (int k = 0; k < 4; ++k) {
                        const int64_t xb = i * 8 + h * 4 + k;
                        const int8_t* x = qs + xb * 32;
                        const uint8_t* lo = ql + (k % 2) * 32;
                        const int lo_shift = (k / 2) * 4, hi_shift = 2 * k;
                        int32_t s[2] = {0, 0};
                        for (int l = 0; l < 32; ++l) {
                            const int q =
                                ((lo[l] >> lo_shift) & 0xF) | (((qh[l] >> hi_shift) & 3) << 4);
                            s[l / 16] += q * x[l];
                        }
                        const int8_t* sc = b[i].scales + 8 * h + 2 * k;
                        const int32_t scaled = sc[0] * (s[0] - 32 * sums[2 * xb]) +
                                               sc[1] * (s[1] - 32 * sums[2 * xb + 1]);
                        block_acc += d[xb] * static_cast<float>(scaled);
                    }
                }
                acc += dd * block_acc;
            }
            return acc;
        });
}

}  // namespace

rows_kernel portable_kernel(dtype type) {
    switch (type) {
        case dtype::f32: return f32_rows;
        case dtype::f16: return f16_rows;
        case dtype::bf16: return bf16_rows;
        case dtype::q8_0: return q8_0_rows;
        case dtype::q4_0: return nibble_rows<block_q4_0, 8>;
        case dtype::q5_0: return nibble_rows<block_q5_0, 16>;
        case dtype::q4_k: return q4_k_rows;
        case dtype::q6_k: return q6_k_rows;
    }
    return nullptr;
}

void quantize_activations_portable(const float* x, int64_t cols, int64_t t_begin, int64_t t_end,
                                   int8_t* qs, float* d, int16_t* sums) {
    for (int64_t t = t_begin; t < t_end; ++t) {
        for (int64_t b = 0; b < cols / 32; ++b) {
            const float* src = x + t * cols + b * 32;
            float amax = 0;
            for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(src[j]));
            const float scale = amax / 127.0f;
            const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
            int8_t* q = qs + t * cols + b * 32;
            int s[2] = {0, 0};
            for (int j = 0; j < 32; ++j) {
                q[j] = static_cast<int8_t>(std::nearbyint(src[j] * inv));
                s[j / 16] += q[j];
            }
            d[t * (cols / 32) + b] = scale;
            sums[t * (cols / 16) + 2 * b] = static_cast<int16_t>(s[0]);
            sums[t * (cols / 16) + 2 * b + 1] = static_cast<int16_t>(s[1]);
        }
    }
}

}  // namespace actorlm::cpu::detail

// Portable kernels for weights in the 16-row panel layouts: the references the
// AVX-512 kernels are tested against, and the path for machines (or forced cpu
// levels) without AVX-512 once weights have been repacked.
#include "cpu/half.hpp"
#include "cpu/matmul_kernels.hpp"
#include "cpu/weight_panels.hpp"

namespace actorlm::cpu::detail {

static_assert(k_row_tile % k_panel_rows == 0, "matmul's row ranges must start on panel boundaries");

namespace {

// For every panel in [r0, r1) and token: zeroes 16 row sums, calls
// add_block(block, t, b, sums) for each block of `block_elems` columns
// (`block_bytes` bytes in the panel), and stores the sums of the rows that exist.
template <class AddBlock>
void for_each_panel_block(const matmul_args& a, int64_t r0, int64_t r1, int64_t block_elems,
                          int64_t block_bytes, AddBlock add_block) {
    const int64_t nb = a.cols / block_elems;
    for (int64_t p = r0 / k_panel_rows; p * k_panel_rows < r1; ++p) {
        const uint8_t* panel = a.w + p * nb * block_bytes;
        for (int64_t t = 0; t < a.num_tokens; ++t) {
            float acc[k_panel_rows] = {};
            for (int64_t b = 0; b < nb; ++b) add_block(panel + b * block_bytes, t, b, acc);
            for (int64_t i = 0; i < k_panel_rows; ++i) {
                const int64_t r = p * k_panel_rows + i;
                if (r < r1) a.y[t * a.rows + r] = acc[i];
            }
        }
    }
}

void q8_0_panels(const matmul_args& a, int64_t r0, int64_t r1) {
    const int64_t nb = a.cols / 32;
    for_each_panel_block(
        a, r0, r1, 32, k_q8_0_panel_block_bytes,
        [&](const uint8_t* blk, int64_t t, int64_t b, float* acc) {
            const auto* scales = reinterpret_cast<const uint16_t*>(blk);
            const uint8_t* quads = blk + k_panel_rows * 2;
            const int8_t* x = a.xq.qs + t * a.cols + 32 * b;
            const float dx = a.xq.d[t * nb + b];
            for (int64_t i = 0; i < k_panel_rows; ++i) {
                int32_t dot = a.xq.block_offsets[t * nb + b];
                for (int64_t c = 0; c < 32; ++c)
                    dot += static_cast<int32_t>(quads[(c / 4) * 64 + i * 4 + c % 4]) * x[c];
                acc[i] += static_cast<float>(dot) * (fp16_to_fp32(scales[i]) * dx);
            }
        });
}

// Q4_0 and Q5_0 panels: nibble groups, plus the 5th-bit masks for Q5_0.
template <bool FifthBit>
void nibble_panels(const matmul_args& a, int64_t r0, int64_t r1) {
    const int64_t nb = a.cols / 32;
    for_each_panel_block(
        a, r0, r1, 32, FifthBit ? k_q5_0_panel_block_bytes : k_q4_0_panel_block_bytes,
        [&](const uint8_t* blk, int64_t t, int64_t b, float* acc) {
            const auto* scales = reinterpret_cast<const uint16_t*>(blk);
            const uint8_t* masks = blk + k_panel_rows * 2;
            const uint8_t* nibbles = masks + (FifthBit ? 8 * 8 : 0);
            const int8_t* x = a.xq.qs + t * a.cols + 32 * b;
            const float dx = a.xq.d[t * nb + b];
            for (int64_t i = 0; i < k_panel_rows; ++i) {
                int32_t dot = a.xq.block_offsets[t * nb + b] /
                              (FifthBit ? 8 : 16);  // -16 / -8 x the quant sum
                for (int64_t c = 0; c < 32; ++c) {
                    const int64_t g = c / 4, e = c % 4, bit = i * 4 + e;
                    const uint8_t byte = nibbles[(g % 4) * 64 + i * 4 + e];
                    const int32_t low = g < 4 ? byte & 0xF : byte >> 4;
                    const int32_t high = FifthBit ? (masks[g * 8 + bit / 8] >> (bit % 8)) & 1 : 0;
                    dot += (low | (high << 4)) * x[c];
                }
                acc[i] += static_cast<float>(dot) * (fp16_to_fp32(scales[i]) * dx);
            }
        });
}

void q4_k_panels(const matmul_args& a, int64_t r0, int64_t r1) {
    const int64_t nb = a.cols / 32;
    for_each_panel_block(
        a, r0, r1, 256, k_q4_k_panel_block_bytes,
        [&](const uint8_t* blk, int64_t t, int64_t s, float* acc) {
            const auto* d = reinterpret_cast<const uint16_t*>(blk);
            const auto* dmin = d + k_panel_rows;
            const uint8_t* sc = blk + 4 * k_panel_rows;
            const uint8_t* mn = sc + 8 * k_panel_rows;
            const uint8_t* nibbles = mn + 8 * k_panel_rows;
            for (int64_t j = 0; j < 8; ++j) {
                const int64_t b = s * 8 + j;
                const int8_t* x = a.xq.qs + t * a.cols + 32 * b;
                const float dx = a.xq.d[t * nb + b];
                const float xsum = a.xq.block_scaled_sums[t * nb + b];
                for (int64_t i = 0; i < k_panel_rows; ++i) {
                    int32_t dot = 0;
                    for (int64_t c = 0; c < 32; ++c) {
                        const int64_t v = (c / 4) % 4, e = c % 4;
                        const uint8_t byte = nibbles[(j * 4 + v) * 64 + i * 4 + e];
                        dot += (c < 16 ? byte & 0xF : byte >> 4) * x[c];
                    }
                    const float scale =
                        fp16_to_fp32(d[i]) * static_cast<float>(sc[j * k_panel_rows + i]);
                    const float min =
                        fp16_to_fp32(dmin[i]) * static_cast<float>(mn[j * k_panel_rows + i]);
                    acc[i] += static_cast<float>(dot) * (scale * dx) - min * xsum;
                }
            }
        });
}

void q6_k_panels(const matmul_args& a, int64_t r0, int64_t r1) {
    const int64_t nb = a.cols / 32, n16 = a.cols / 16;
    for_each_panel_block(
        a, r0, r1, 256, k_q6_k_panel_block_bytes,
        [&](const uint8_t* blk, int64_t t, int64_t s, float* acc) {
            const auto* d = reinterpret_cast<const uint16_t*>(blk);
            const auto* sc = reinterpret_cast<const int8_t*>(blk + 2 * k_panel_rows);
            const uint8_t* units = blk + 2 * k_panel_rows + 16 * k_panel_rows;
            for (int64_t u = 0; u < 8; ++u) {
                const int64_t b = s * 8 + u;
                const uint8_t* nibbles = units + u * 6 * 64;
                const uint8_t* tops = nibbles + 4 * 64;
                const int8_t* x = a.xq.qs + t * a.cols + 32 * b;
                const float dx = a.xq.d[t * nb + b];
                for (int64_t i = 0; i < k_panel_rows; ++i) {
                    for (int64_t half = 0; half < 2;
                         ++half) {  // the unit's two 16-column sub-blocks
                        int32_t dot = -32 * a.xq.sums[t * n16 + 2 * b + half];
                        for (int64_t c = 16 * half; c < 16 * half + 16; ++c) {
                            const int64_t g = c / 4, e = c % 4;
                            const uint8_t nib = nibbles[(g % 4) * 64 + i * 4 + e];
                            const int32_t low = g < 4 ? nib & 0xF : nib >> 4;
                            const int32_t top =
                                (tops[(g / 4) * 64 + i * 4 + e] >> (2 * (g % 4))) & 3;
                            dot += (low | (top << 4)) * x[c];
                        }
                        const float scale =
                            fp16_to_fp32(d[i]) *
                            static_cast<float>(sc[(2 * u + half) * k_panel_rows + i]);
                        acc[i] += static_cast<float>(dot) * (scale * dx);
                    }
                }
            }
        });
}

}  // namespace

rows_kernel portable_panel_kernel(dtype type) {
    switch (type) {
        case dtype::q8_0: return q8_0_panels;
        case dtype::q4_0: return nibble_panels<false>;
        case dtype::q5_0: return nibble_panels<true>;
        case dtype::q4_k: return q4_k_panels;
        case dtype::q6_k: return q6_k_panels;
        default: return nullptr;
    }
}

}  // namespace actorlm::cpu::detail

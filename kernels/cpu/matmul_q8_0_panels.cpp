// Portable kernel for Q8_0 weights in the 16-row panel layout: the reference the
// AVX-512 kernel is tested against, and the path for machines (or forced cpu
// levels) without AVX-512 once weights have been repacked.
#include "cpu/half.hpp"
#include "cpu/matmul_kernels.hpp"
#include "cpu/q8_0_panels.hpp"

namespace actorlm::cpu::detail {

static_assert(k_row_tile % k_panel_rows == 0, "matmul's row ranges must start on panel boundaries");

void q8_0_panels_portable(const matmul_args& a, int64_t r0, int64_t r1) {
    const int64_t nb = a.cols / 32;
    for (int64_t p = r0 / k_panel_rows; p * k_panel_rows < r1; ++p) {
        const uint8_t* panel = a.w + p * nb * k_panel_block_bytes;
        for (int64_t t = 0; t < a.num_tokens; ++t) {
            const int8_t* x = a.xq.qs + t * a.cols;
            float acc[k_panel_rows] = {};
            for (int64_t b = 0; b < nb; ++b) {
                const uint8_t* blk = panel + b * k_panel_block_bytes;
                const auto* scales = reinterpret_cast<const uint16_t*>(blk);
                const uint8_t* quads = blk + k_panel_rows * 2;
                const float dx = a.xq.d[t * nb + b];
                for (int64_t i = 0; i < k_panel_rows; ++i) {
                    int32_t dot = a.xq.block_offsets[t * nb + b];
                    for (int64_t c = 0; c < 32; ++c)
                        dot += static_cast<int32_t>(quads[(c / 4) * 64 + i * 4 + c % 4]) * x[32 * b + c];
                    acc[i] += static_cast<float>(dot) * (fp16_to_fp32(scales[i]) * dx);
                }
            }
            for (int64_t i = 0; i < k_panel_rows; ++i) {
                const int64_t r = p * k_panel_rows + i;
                if (r < r1) a.y[t * a.rows + r] = acc[i];
            }
        }
    }
}

}  // namespace actorlm::cpu::detail

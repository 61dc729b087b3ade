// Repacking Q8_0 rows into 16-row panels (layout in q8_0_panels.hpp).
#include "cpu/q8_0_panels.hpp"

#include <cstdlib>
#include <cstring>

#include "cpu/cpu_features.hpp"
#include "cpu/quant_blocks.hpp"
#include "util/check.hpp"

namespace actorlm::cpu {

bool prefers_q8_0_panels(const tensor& w) {
    return w.type == dtype::q8_0 && w.layout == weight_layout::rows && w.shape.size() == 2 &&
           active_cpu_level() == cpu_level::avx512;
}

tensor repack_q8_0_panels(const tensor& w, std::vector<std::shared_ptr<void>>& storage) {
    ACTORLM_CHECK(w.type == dtype::q8_0 && w.layout == weight_layout::rows && w.shape.size() == 2 &&
                      w.present() && w.cols() % 32 == 0,
                  "repack_q8_0_panels: %s is not a Q8_0 matrix in row layout", w.name.c_str());
    const int64_t rows = w.rows(), nb = w.cols() / 32;
    const int64_t panels = (rows + k_panel_rows - 1) / k_panel_rows;
    const size_t bytes = static_cast<size_t>(panels * nb * k_panel_block_bytes);
    std::shared_ptr<void> buffer(std::aligned_alloc(64, (bytes + 63) / 64 * 64), std::free);
    ACTORLM_CHECK(buffer != nullptr, "repack_q8_0_panels: cannot allocate %zu bytes for %s", bytes,
                  w.name.c_str());
    auto* out = static_cast<uint8_t*>(buffer.get());
    std::memset(out, 0, bytes);
    const auto* src = static_cast<const block_q8_0*>(w.data);
    for (int64_t p = 0; p < panels; ++p)
        for (int64_t b = 0; b < nb; ++b) {
            uint8_t* blk = out + (p * nb + b) * k_panel_block_bytes;
            auto* scales = reinterpret_cast<uint16_t*>(blk);
            uint8_t* quads = blk + k_panel_rows * 2;
            for (int64_t i = 0; i < k_panel_rows; ++i) {
                const int64_t r = p * k_panel_rows + i;
                if (r >= rows) {
                    // Padding rows: zero scale, quants at the +128 zero point.
                    for (int64_t c = 0; c < 32; ++c) quads[(c / 4) * 64 + i * 4 + c % 4] = 128;
                    continue;
                }
                const block_q8_0& q = src[r * nb + b];
                scales[i] = q.d;
                for (int64_t c = 0; c < 32; ++c)
                    quads[(c / 4) * 64 + i * 4 + c % 4] = static_cast<uint8_t>(q.qs[c] + 128);
            }
        }
    tensor packed = w;
    packed.layout = weight_layout::q8_0_panels;
    packed.data = out;
    packed.num_bytes = bytes;
    storage.push_back(std::move(buffer));
    return packed;
}

}  // namespace actorlm::cpu

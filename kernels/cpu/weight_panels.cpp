// Repacking Q8_0 / Q4_0 / Q5_0 / Q4_K / Q6_K rows into 16-row panels (layouts in
// weight_panels.hpp).
#include "cpu/weight_panels.hpp"

#include <cstdlib>
#include <cstring>

#include "cpu/cpu_features.hpp"
#include "cpu/quant_blocks.hpp"
#include "base/check.hpp"

namespace actorlm::cpu {

namespace {

bool has_panel_layout(dtype t) {
    return t == dtype::q8_0 || t == dtype::q4_0 || t == dtype::q5_0 || t == dtype::q4_k ||
           t == dtype::q6_k;
}

// Zeroes each panel, then calls fill(panel_block, row_block, i) for each of its
// blocks and 16 rows i; row_block is the row layout's block of that row, or null
// for the padding rows of the last panel. Panels are split over the pool (each
// writes only its own bytes): repacking a multi-GB model is start-up time.
template <class Block, class Fill>
void for_each_panel_row_block(const tensor& w, int64_t panels, int64_t block_bytes, uint8_t* out,
                              thread_pool& pool, Fill fill) {
    const int64_t rows = w.rows(), nb = w.cols() / dtype_block_elems(w.type);
    const auto* src = static_cast<const Block*>(w.data);
    pool.parallel_for(panels, [&](int64_t p0, int64_t p1) {
        std::memset(out + p0 * nb * block_bytes, 0,
                    static_cast<size_t>((p1 - p0) * nb * block_bytes));
        for (int64_t p = p0; p < p1; ++p)
            for (int64_t b = 0; b < nb; ++b)
                for (int64_t i = 0; i < k_panel_rows; ++i) {
                    const int64_t r = p * k_panel_rows + i;
                    fill(out + (p * nb + b) * block_bytes, r < rows ? &src[r * nb + b] : nullptr,
                         i);
                }
    });
}

void repack_q8_0(const tensor& w, int64_t panels, uint8_t* out, thread_pool& pool) {
    for_each_panel_row_block<block_q8_0>(
        w, panels, k_q8_0_panel_block_bytes, out, pool,
        [](uint8_t* blk, const block_q8_0* q, int64_t i) {
            auto* scales = reinterpret_cast<uint16_t*>(blk);
            uint8_t* quads = blk + k_panel_rows * 2;
            scales[i] = q ? q->d : 0;  // padding rows: zero scale, quants at the zero point
            for (int64_t c = 0; c < 32; ++c)
                quads[(c / 4) * 64 + i * 4 + c % 4] =
                    static_cast<uint8_t>((q ? q->qs[c] : 0) + 128);
        });
}

// The nibble groups of Q4_0, Q5_0, Q4_K and Q6_K panels (per 32 columns): the
// low 4 bits of column c of row i go to vector (c / 4) % 4, byte 4i + c % 4, in
// its low nibble for c < 16 and its high nibble otherwise.
inline void put_nibble(uint8_t* nibbles, int64_t i, int c, uint8_t value) {
    const int g = c / 4;
    uint8_t& byte = nibbles[(g % 4) * 64 + i * 4 + c % 4];
    byte = static_cast<uint8_t>(byte | ((value & 0xF) << (g < 4 ? 0 : 4)));
}

void repack_q4_0(const tensor& w, int64_t panels, uint8_t* out, thread_pool& pool) {
    for_each_panel_row_block<block_q4_0>(
        w, panels, k_q4_0_panel_block_bytes, out, pool,
        [](uint8_t* blk, const block_q4_0* q, int64_t i) {
            auto* scales = reinterpret_cast<uint16_t*>(blk);
            uint8_t* nibbles = blk + k_panel_rows * 2;
            scales[i] = q ? q->d : 0;  // padding rows: zero scale, quants at the zero point 8
            for (int c = 0; c < 16; ++c) {
                put_nibble(nibbles, i, c, q ? q->qs[c] & 0xF : 8);
                put_nibble(nibbles, i, c + 16, q ? q->qs[c] >> 4 : 8);
            }
        });
}

void repack_q5_0(const tensor& w, int64_t panels, uint8_t* out, thread_pool& pool) {
    for_each_panel_row_block<block_q5_0>(
        w, panels, k_q5_0_panel_block_bytes, out, pool,
        [](uint8_t* blk, const block_q5_0* q, int64_t i) {
            auto* scales = reinterpret_cast<uint16_t*>(blk);
            uint8_t* masks = blk + k_panel_rows * 2;  // 8 little-endian 64-bit masks
            uint8_t* nibbles = masks + 8 * 8;
            // Padding rows: zero scale, quants at the +16 zero point (5th bit set, nibble 0).
            uint8_t q5[32];
            if (q) {
                scales[i] = q->d;
                uint32_t qh;
                std::memcpy(&qh, q->qh, 4);
                for (int c = 0; c < 16; ++c) {
                    q5[c] = static_cast<uint8_t>((q->qs[c] & 0xF) | (((qh >> c) & 1u) << 4));
                    q5[c + 16] =
                        static_cast<uint8_t>((q->qs[c] >> 4) | (((qh >> (c + 16)) & 1u) << 4));
                }
            } else {
                for (uint8_t& v : q5) v = 16;
            }
            for (int c = 0; c < 32; ++c) {
                const int g = c / 4, bit = static_cast<int>(i) * 4 + c % 4;
                if (q5[c] & 16) masks[g * 8 + bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
                put_nibble(nibbles, i, c, q5[c]);
            }
        });
}

void repack_q4_k(const tensor& w, int64_t panels, uint8_t* out, thread_pool& pool) {
    for_each_panel_row_block<block_q4_k>(
        w, panels, k_q4_k_panel_block_bytes, out, pool,
        [](uint8_t* blk, const block_q4_k* q, int64_t i) {
            if (!q) return;  // padding rows stay all zero
            auto* d = reinterpret_cast<uint16_t*>(blk);
            auto* dmin = d + k_panel_rows;
            uint8_t* sc = blk + 4 * k_panel_rows;
            uint8_t* mn = sc + 8 * k_panel_rows;
            uint8_t* nibbles = mn + 8 * k_panel_rows;
            d[i] = q->d;
            dmin[i] = q->dmin;
            for (int j = 0; j < 8; ++j) {
                q4_k_scale_min(j, q->scales, sc[j * k_panel_rows + i], mn[j * k_panel_rows + i]);
                // Column l of sub-block j: byte 32*(j/2) + l, low nibble for even j.
                for (int l = 0; l < 32; ++l) {
                    const uint8_t byte = q->qs[32 * (j / 2) + l];
                    put_nibble(nibbles + j * 4 * 64, i, l, j % 2 == 0 ? byte & 0xF : byte >> 4);
                }
            }
        });
}

// Column c (0..255) of a Q6_K block as its unsigned 6-bit quant (value + 32).
inline uint8_t q6_k_quant(const block_q6_k& q, int c) {
    const int h = c / 128, k = (c % 128) / 32, l = c % 32;
    const uint8_t low = q.ql[64 * h + l + (k % 2) * 32];
    return static_cast<uint8_t>((k < 2 ? low & 0xF : low >> 4) |
                                (((q.qh[32 * h + l] >> (2 * k)) & 3) << 4));
}

void repack_q6_k(const tensor& w, int64_t panels, uint8_t* out, thread_pool& pool) {
    for_each_panel_row_block<block_q6_k>(
        w, panels, k_q6_k_panel_block_bytes, out, pool,
        [](uint8_t* blk, const block_q6_k* q, int64_t i) {
            auto* d = reinterpret_cast<uint16_t*>(blk);
            auto* sc = reinterpret_cast<int8_t*>(blk + 2 * k_panel_rows);
            uint8_t* units = blk + 2 * k_panel_rows + 16 * k_panel_rows;
            d[i] = q ? q->d : 0;  // padding rows: zero scales, quants at the +32 zero point
            for (int s = 0; s < 16; ++s) sc[s * k_panel_rows + i] = q ? q->scales[s] : 0;
            for (int u = 0; u < 8; ++u) {
                uint8_t* nibbles = units + u * 6 * 64;
                uint8_t* tops = nibbles + 4 * 64;
                for (int c = 0; c < 32; ++c) {
                    const uint8_t v = q ? q6_k_quant(*q, 32 * u + c) : 32;
                    const int g = c / 4, e = c % 4;
                    put_nibble(nibbles, i, c, v);
                    uint8_t& top = tops[(g / 4) * 64 + i * 4 + e];
                    top = static_cast<uint8_t>(top | ((v >> 4) << (2 * (g % 4))));
                }
            }
        });
}

}  // namespace

bool prefers_panels(const tensor& w) {
    return has_panel_layout(w.type) && w.layout == weight_layout::rows && w.shape.size() == 2 &&
           active_cpu_level() == cpu_level::avx512;
}

tensor repack_to_panels(const tensor& w, std::vector<std::shared_ptr<void>>& storage,
                        thread_pool& pool) {
    const int64_t block = dtype_block_elems(w.type);
    ACTORLM_CHECK(
        has_panel_layout(w.type) && w.layout == weight_layout::rows && w.shape.size() == 2 &&
            w.present() && w.cols() % block == 0,
        "repack_to_panels: %s is not a Q8_0, Q4_0, Q5_0, Q4_K or Q6_K matrix in row layout",
        w.name.c_str());
    const int64_t panels = (w.rows() + k_panel_rows - 1) / k_panel_rows;
    const int64_t block_bytes = w.type == dtype::q8_0   ? k_q8_0_panel_block_bytes
                                : w.type == dtype::q4_0 ? k_q4_0_panel_block_bytes
                                : w.type == dtype::q5_0 ? k_q5_0_panel_block_bytes
                                : w.type == dtype::q6_k ? k_q6_k_panel_block_bytes
                                                        : k_q4_k_panel_block_bytes;
    const size_t bytes = static_cast<size_t>(panels * (w.cols() / block) * block_bytes);
    std::shared_ptr<void> buffer(std::aligned_alloc(64, (bytes + 63) / 64 * 64), std::free);
    ACTORLM_CHECK(buffer != nullptr, "repack_to_panels: cannot allocate %zu bytes for %s", bytes,
                  w.name.c_str());
    auto* out = static_cast<uint8_t*>(buffer.get());
    switch (w.type) {
        case dtype::q8_0: repack_q8_0(w, panels, out, pool); break;
        case dtype::q4_0: repack_q4_0(w, panels, out, pool); break;
        case dtype::q5_0: repack_q5_0(w, panels, out, pool); break;
        case dtype::q6_k: repack_q6_k(w, panels, out, pool); break;
        default: repack_q4_k(w, panels, out, pool); break;
    }
    tensor packed = w;
    packed.layout = weight_layout::panels;
    packed.data = out;
    packed.num_bytes = bytes;
    storage.push_back(std::move(buffer));
    return packed;
}

}  // namespace actorlm::cpu

// vision_tower: Qwen2.5-VL's tower (Qwen2_5_VisionTransformerPretrainedModel). The patch rows
// (Conv3d as one matmul) are regrouped window by window — merge units of m x m patches, windows
// of (window_size / m / patch)^2 units, row-major in the frame — and stay in that order
// through the blocks: RMSNorm, fused QKV with 2-D rotary (rows and columns each rotate a
// quarter of the head), attention within each window or, for fullatt_block_indexes, the whole
// frame, then RMSNorm and a SwiGLU MLP. The merger (RMSNorm, m^2 patches concatenated, linear,
// GELU, linear) runs in window order and its rows are put back in the processor's order.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/activation.hpp"
#include "multimodal/vision_ops.hpp"
#include "multimodal/vision_tower.hpp"

namespace actorlm::multimodal {

// Named rather than anonymous: unity batches join this file with its neighbours.
namespace qwen_vision_detail {

using namespace vision_ops;

// The layout of a chunk of images in window order.
struct window_layout {
    std::vector<int64_t> order;  // window-order row -> processor-order row (patches)
    std::vector<int64_t> row, col;  // processor-order patch -> its position in the grid
    std::vector<attention_segment> windows, frames;
};

// Appends one image (patch rows starting at `base`) to the layout, as get_vision_window_index
// and get_vision_position_ids build it.
void add_image(const std::array<int64_t, 3>& grid, int64_t base, int64_t merge, int64_t win,
               window_layout& l) {
    const int64_t t = grid[0], h = grid[1], w = grid[2];
    const int64_t uh = h / merge, uw = w / merge, unit = merge * merge;
    // Processor order: merge blocks row-major, the m x m patches of a block row-major.
    for (int64_t f = 0; f < t; ++f)
        for (int64_t bh = 0; bh < uh; ++bh)
            for (int64_t bw = 0; bw < uw; ++bw)
                for (int64_t i = 0; i < merge; ++i)
                    for (int64_t j = 0; j < merge; ++j) {
                        l.row.push_back(bh * merge + i);
                        l.col.push_back(bw * merge + j);
                    }
    const int64_t wins_h = (uh + win - 1) / win, wins_w = (uw + win - 1) / win;
    for (int64_t f = 0; f < t; ++f) {
        const int64_t frame_begin = static_cast<int64_t>(l.order.size());
        for (int64_t wh = 0; wh < wins_h; ++wh)
            for (int64_t ww = 0; ww < wins_w; ++ww) {
                const int64_t begin = static_cast<int64_t>(l.order.size());
                for (int64_t i = wh * win; i < std::min(uh, (wh + 1) * win); ++i)
                    for (int64_t j = ww * win; j < std::min(uw, (ww + 1) * win); ++j) {
                        const int64_t u = (f * uh + i) * uw + j;
                        for (int64_t k = 0; k < unit; ++k) l.order.push_back(base + u * unit + k);
                    }
                l.windows.push_back({begin, static_cast<int64_t>(l.order.size()) - begin});
            }
        l.frames.push_back({frame_begin, static_cast<int64_t>(l.order.size()) - frame_begin});
    }
}

// Rotates each head of q (row stride `stride`) in place: pairs (i, i + hd/2) by angle
// freq[i], freq = [row * inv_freq, col * inv_freq] (hd/4 each), in float32 as torch does.
void apply_rotary(float* x, int64_t rows, int64_t stride, int64_t heads, int64_t hd,
                  const std::vector<float>& cos, const std::vector<float>& sin,
                  cpu::thread_pool& pool) {
    const int64_t half = hd / 2;
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t h = 0; h < heads; ++h) {
                float* v = x + r * stride + h * hd;
                const float* c = &cos[r * half];
                const float* s = &sin[r * half];
                for (int64_t i = 0; i < half; ++i) {
                    const float a = v[i], b = v[i + half];
                    v[i] = a * c[i] - b * s[i];
                    v[i + half] = b * c[i] + a * s[i];
                }
            }
    });
}

}  // namespace qwen_vision_detail

result<vision_features> vision_tower::encode_patches(
    const float* patches, const std::vector<std::array<int64_t, 3>>& grids,
    cpu::thread_pool& pool) const {
    using namespace qwen_vision_detail;
    const vision_tower_config& cfg = model_->config;
    if (cfg.family != vision_family::qwen2_5_vl)
        return make_error(error_kind::invalid_argument,
                          "vision tower: encode_patches is for Qwen2.5-VL, this is %s",
                          cfg.model_type.c_str());
    const vision_encoder_config& e = cfg.encoder;
    const vision_tower_weights& wt = model_->weights;
    const int64_t m = cfg.spatial_merge_size, unit = m * m, d = e.hidden_size;
    const int64_t hd = e.head_dim(), heads = e.num_heads;
    const int64_t win = cfg.window_size / m / e.patch_size;
    const int64_t row_width = e.num_channels * cfg.temporal_patch_size * e.patch_size * e.patch_size;

    vision_features out;
    out.num_images = static_cast<int64_t>(grids.size());
    out.dim = model_->output_dim;
    int64_t total = 0;
    for (const auto& g : grids) {
        if (g[0] <= 0 || g[1] <= 0 || g[2] <= 0 || g[1] % m != 0 || g[2] % m != 0)
            return make_error(error_kind::invalid_argument,
                              "vision tower: grid_thw %lldx%lldx%lld is not a positive grid "
                              "divisible by spatial_merge_size %lld",
                              static_cast<long long>(g[0]), static_cast<long long>(g[1]),
                              static_cast<long long>(g[2]), static_cast<long long>(m));
        out.image_tokens.push_back(g[0] * g[1] * g[2] / unit);
        total += g[0] * g[1] * g[2];
    }
    if (total > 0 && patches == nullptr)
        return make_error(error_kind::invalid_argument, "vision tower: no pixel values");
    out.tokens_per_image = out.image_tokens.empty() ? 0 : out.image_tokens[0];
    for (int64_t n : out.image_tokens)
        if (n != out.tokens_per_image) out.tokens_per_image = 0;
    out.data.resize(static_cast<size_t>(total / unit * out.dim));

    // inv_freq of the rotary over head_dim / 2 dims: 1 / 10000^(2k / (hd / 2)), float32.
    const int64_t quarter = hd / 4, rot_dim = hd / 2;
    std::vector<float> inv_freq(static_cast<size_t>(quarter));
    for (int64_t k = 0; k < quarter; ++k)
        inv_freq[k] = 1.0f / std::pow(10000.0f, static_cast<float>(2 * k) /
                                                    static_cast<float>(rot_dim));

    // Chunks of whole images, at most k_max_chunk_tokens patches unless one image is larger.
    size_t first = 0;
    int64_t first_row = 0;
    while (first < grids.size()) {
        size_t last = first;
        int64_t rows = 0;
        while (last < grids.size()) {
            const int64_t n = grids[last][0] * grids[last][1] * grids[last][2];
            if (last > first && rows + n > k_max_chunk_tokens) break;
            rows += n;
            ++last;
        }
        window_layout layout;
        for (size_t i = first, base = 0; i < last; ++i) {
            add_image(grids[i], static_cast<int64_t>(base), m, win, layout);
            base += static_cast<size_t>(grids[i][0] * grids[i][1] * grids[i][2]);
        }

        // Patch embedding in processor order, then rows regrouped in window order.
        std::vector<float> embeds(static_cast<size_t>(rows * d));
        linear(wt.patch_embedding, patches + first_row * row_width, rows, embeds.data(), pool);
        std::vector<float> x(static_cast<size_t>(rows * d));
        std::vector<float> cos(static_cast<size_t>(rows * rot_dim)),
            sin(static_cast<size_t>(rows * rot_dim));
        pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const int64_t src = layout.order[r];
                std::memcpy(&x[r * d], &embeds[src * d], d * sizeof(float));
                for (int64_t k = 0; k < quarter; ++k) {
                    const float fr = static_cast<float>(layout.row[src]) * inv_freq[k];
                    const float fc = static_cast<float>(layout.col[src]) * inv_freq[k];
                    cos[r * rot_dim + k] = std::cos(fr);
                    sin[r * rot_dim + k] = std::sin(fr);
                    cos[r * rot_dim + quarter + k] = std::cos(fc);
                    sin[r * rot_dim + quarter + k] = std::sin(fc);
                }
            }
        });
        embeds = {};

        std::vector<float> h(static_cast<size_t>(rows * d)), qkv(static_cast<size_t>(rows * 3 * d));
        std::vector<float> attn(static_cast<size_t>(rows * d));
        std::vector<float> gate(static_cast<size_t>(rows * e.intermediate_size)),
            up(static_cast<size_t>(rows * e.intermediate_size));
        for (size_t l = 0; l < wt.qwen_blocks.size(); ++l) {
            const qwen_block_weights& b = wt.qwen_blocks[l];
            const bool full = std::find(cfg.fullatt_block_indexes.begin(),
                                        cfg.fullatt_block_indexes.end(),
                                        static_cast<int64_t>(l)) != cfg.fullatt_block_indexes.end();
            h = x;
            rmsnorm_rows(b.norm1, h.data(), rows, d, 1e-6, pool);
            linear(b.qkv, h.data(), rows, qkv.data(), pool);
            apply_rotary(qkv.data(), rows, 3 * d, heads, hd, cos, sin, pool);
            apply_rotary(qkv.data() + d, rows, 3 * d, heads, hd, cos, sin, pool);
            segment_attention(qkv.data(), qkv.data() + d, qkv.data() + 2 * d, 3 * d, attn.data(),
                              full ? layout.frames : layout.windows, heads, hd, pool);
            linear(b.proj, attn.data(), rows, h.data(), pool);
            add(x.data(), h.data(), rows * d, pool);
            h = x;
            rmsnorm_rows(b.norm2, h.data(), rows, d, 1e-6, pool);
            linear(b.gate, h.data(), rows, gate.data(), pool);
            linear(b.up, h.data(), rows, up.data(), pool);
            const int64_t inter = e.intermediate_size;
            pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
                cpu::silu_mul(&gate[r0 * inter], &up[r0 * inter], &gate[r0 * inter],
                              (r1 - r0) * inter);
            });
            linear(b.down, gate.data(), rows, h.data(), pool);
            add(x.data(), h.data(), rows * d, pool);
        }

        // Merger in window order (a merge unit's m^2 rows are consecutive there), then each
        // unit's row written where the processor order puts it.
        rmsnorm_rows(wt.merger_norm, x.data(), rows, d, 1e-6, pool);
        const int64_t units = rows / unit, merged = d * unit;
        std::vector<float> hidden(static_cast<size_t>(units * merged));
        linear(wt.merger_1, x.data(), units, hidden.data(), pool);
        activation_rows(vision_activation::gelu_erf, hidden.data(), units, merged, pool);
        std::vector<float> result(static_cast<size_t>(units * out.dim));
        linear(wt.merger_2, hidden.data(), units, result.data(), pool);
        float* dst = out.data.data() + first_row / unit * out.dim;
        for (int64_t u = 0; u < units; ++u)
            std::memcpy(dst + layout.order[u * unit] / unit * out.dim, &result[u * out.dim],
                        out.dim * sizeof(float));
        first_row += rows;
        first = last;
    }
    return out;
}

}  // namespace actorlm::multimodal

// vision_tower: the CLIP / SigLIP encoder forward. One chunk of images is a [tokens, hidden]
// matrix through every matmul (patch embedding as a product with unfolded patches, Q/K/V/O,
// the MLP, the projector); attention is per (image, head) (vision_ops). Buffers live for one
// call. Qwen2.5-VL's tower is in vision_tower_qwen2_5_vl.cpp.
#include "multimodal/vision_tower.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "multimodal/vision_ops.hpp"

namespace actorlm::multimodal {

// Named rather than anonymous: unity batches join this file with its neighbours.
namespace vision_tower_detail {

using cpu::thread_pool;
using namespace vision_ops;

// One encoder layer in place on x [rows, d] (pre-norm attention, then pre-norm MLP).
struct layer_scratch {
    std::vector<float> h, q, k, v, a, m;
};

void encoder_layer(const vision_layer_weights& lw, const vision_encoder_config& e, float* x,
                   int64_t num_images, int64_t seq, layer_scratch& s, thread_pool& pool) {
    const int64_t rows = num_images * seq, d = e.hidden_size;
    layernorm_rows(lw.norm1, x, s.h.data(), rows, d, e.layer_norm_eps, pool);
    linear(lw.q, s.h.data(), rows, s.q.data(), pool);
    linear(lw.k, s.h.data(), rows, s.k.data(), pool);
    linear(lw.v, s.h.data(), rows, s.v.data(), pool);
    std::vector<attention_segment> images(static_cast<size_t>(num_images));
    for (int64_t i = 0; i < num_images; ++i) images[i] = {i * seq, seq};
    segment_attention(s.q.data(), s.k.data(), s.v.data(), d, s.a.data(), images, e.num_heads,
                      e.head_dim(), pool);
    linear(lw.out, s.a.data(), rows, s.h.data(), pool);
    add(x, s.h.data(), rows * d, pool);
    layernorm_rows(lw.norm2, x, s.h.data(), rows, d, e.layer_norm_eps, pool);
    linear(lw.fc1, s.h.data(), rows, s.m.data(), pool);
    activation_rows(e.hidden_act, s.m.data(), rows, e.intermediate_size, pool);
    linear(lw.fc2, s.m.data(), rows, s.h.data(), pool);
    add(x, s.h.data(), rows * d, pool);
}

// Unfolds images [n, c, H, W] into patch rows [n * gh * gw, c * p * p] (channel, row, column:
// the order of a Conv2d weight's flattening), patches row-major per image.
void unfold_patches(const float* pixels, int64_t n, int64_t channels, int64_t height,
                    int64_t width, int64_t p, float* out, thread_pool& pool) {
    const int64_t gh = height / p, gw = width / p, cols = channels * p * p;
    pool.parallel_for(n * gh, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const int64_t img = r / gh, py = r % gh;
            for (int64_t px = 0; px < gw; ++px) {
                float* dst = out + ((img * gh + py) * gw + px) * cols;
                for (int64_t c = 0; c < channels; ++c)
                    for (int64_t ky = 0; ky < p; ++ky) {
                        const float* src = pixels + ((img * channels + c) * height + py * p + ky) *
                                                        width + px * p;
                        std::memcpy(dst + (c * p + ky) * p, src, p * sizeof(float));
                    }
            }
        }
    });
}

}  // namespace vision_tower_detail

std::vector<int64_t> siglip_position_ids(int64_t grid_h, int64_t grid_w,
                                         int64_t patches_per_side) {
    // torch.arange(1 / N, 1.0, 1 / N) in float32: ceil((end - start) / step) values
    // start + i * step, computed in double and rounded to float.
    const double step = 1.0 / static_cast<double>(patches_per_side);
    const auto count = static_cast<int64_t>(std::ceil((1.0 - step) / step));
    std::vector<float> boundaries(static_cast<size_t>(std::max<int64_t>(count, 0)));
    for (int64_t i = 0; i < count; ++i)
        boundaries[i] = static_cast<float>(step + static_cast<double>(i) * step);
    // Fractional coordinates i * (1 / grid) in float32, clamped below 1, bucketized with
    // right=True: the number of boundaries <= the coordinate.
    auto buckets = [&](int64_t grid) {
        std::vector<int64_t> b(static_cast<size_t>(grid));
        const float inv = 1.0f / static_cast<float>(grid);
        const float top = static_cast<float>(1.0 - 1e-6);
        for (int64_t i = 0; i < grid; ++i) {
            const float coord = std::min(static_cast<float>(i) * inv, top);
            b[i] = std::upper_bound(boundaries.begin(), boundaries.end(), coord) -
                   boundaries.begin();
        }
        return b;
    };
    const std::vector<int64_t> bh = buckets(grid_h), bw = buckets(grid_w);
    std::vector<int64_t> ids(static_cast<size_t>(grid_h * grid_w));
    for (int64_t i = 0; i < grid_h; ++i)
        for (int64_t j = 0; j < grid_w; ++j) ids[i * grid_w + j] = bh[i] * patches_per_side + bw[j];
    return ids;
}

vision_tower::vision_tower(std::shared_ptr<const vision_model> model) : model_(std::move(model)) {
    ACTORLM_CHECK(model_ != nullptr, "vision_tower: null model");
}

result<int64_t> vision_tower::tokens_per_image(int64_t height, int64_t width) const {
    const vision_tower_config& cfg = model_->config;
    const vision_encoder_config& e = cfg.encoder;
    if (cfg.family == vision_family::qwen2_5_vl)
        return make_error(error_kind::invalid_argument,
                          "vision tower: Qwen2.5-VL takes patch rows with a grid "
                          "(encode_patches), not %lldx%lld pixel images",
                          static_cast<long long>(height), static_cast<long long>(width));
    if (cfg.family == vision_family::clip_llava) {
        if (height != e.image_size || width != e.image_size)
            return make_error(error_kind::invalid_argument,
                              "vision tower: CLIP takes %lldx%lld images, got %lldx%lld",
                              static_cast<long long>(e.image_size),
                              static_cast<long long>(e.image_size),
                              static_cast<long long>(height), static_cast<long long>(width));
        const int64_t patches = e.patches_per_side() * e.patches_per_side();
        return patches + (cfg.drop_class_token ? 0 : 1);
    }
    const int64_t side = height / e.patch_size;
    if (height != width || height <= 0 || height % e.patch_size != 0 ||
        side % cfg.scale_factor != 0)
        return make_error(error_kind::invalid_argument,
                          "vision tower: Idefics3 takes square tiles whose side is a multiple of "
                          "patch_size %lld x scale_factor %lld, got %lldx%lld",
                          static_cast<long long>(e.patch_size),
                          static_cast<long long>(cfg.scale_factor),
                          static_cast<long long>(height), static_cast<long long>(width));
    const int64_t per_side = side / cfg.scale_factor;
    return per_side * per_side;
}

result<vision_features> vision_tower::encode(const float* pixels, int64_t num_images,
                                             int64_t height, int64_t width,
                                             cpu::thread_pool& pool) const {
    using namespace vision_tower_detail;
    auto tokens = tokens_per_image(height, width);
    if (!tokens) return tokens.err();
    if (num_images < 0 || (num_images > 0 && pixels == nullptr))
        return make_error(error_kind::invalid_argument, "vision tower: no pixel values");
    const vision_tower_config& cfg = model_->config;
    const vision_encoder_config& e = cfg.encoder;
    const vision_tower_weights& w = model_->weights;
    const bool clip = cfg.family == vision_family::clip_llava;
    const int64_t d = e.hidden_size, p = e.patch_size;
    const int64_t gh = height / p, gw = width / p, num_patches = gh * gw;
    const int64_t seq = num_patches + (clip ? 1 : 0);
    const int64_t image_floats = e.num_channels * height * width;

    vision_features out;
    out.num_images = num_images;
    out.tokens_per_image = *tokens;
    out.dim = model_->output_dim;
    out.image_tokens.assign(static_cast<size_t>(num_images), *tokens);
    out.data.resize(static_cast<size_t>(num_images * *tokens * out.dim));

    const std::vector<int64_t> positions =
        clip ? std::vector<int64_t>{} : siglip_position_ids(gh, gw, e.patches_per_side());
    const int64_t chunk_images = std::max<int64_t>(1, k_max_chunk_tokens / seq);
    for (int64_t first = 0; first < num_images; first += chunk_images) {
        const int64_t n = std::min(chunk_images, num_images - first);
        const int64_t rows = n * seq;
        // -- embeddings ------------------------------------------------------------------
        std::vector<float> patches(static_cast<size_t>(n * num_patches * e.num_channels * p * p));
        unfold_patches(pixels + first * image_floats, n, e.num_channels, height, width, p,
                       patches.data(), pool);
        std::vector<float> embeds(static_cast<size_t>(n * num_patches * d));
        linear(w.patch_embedding, patches.data(), n * num_patches, embeds.data(), pool);
        patches = {};
        std::vector<float> x(static_cast<size_t>(rows * d));
        pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const int64_t img = r / seq, t = r % seq;
                float* dst = &x[r * d];
                const int64_t patch = clip ? t - 1 : t;
                const float* src =
                    patch < 0 ? w.class_embedding.data() : &embeds[(img * num_patches + patch) * d];
                const float* pos =
                    &w.position_embedding[(clip ? t : positions[static_cast<size_t>(t)]) * d];
                for (int64_t c = 0; c < d; ++c) dst[c] = src[c] + pos[c];
            }
        });
        embeds = {};
        if (clip) layernorm_rows(w.pre_norm, x.data(), x.data(), rows, d, e.layer_norm_eps, pool);

        // -- encoder -----------------------------------------------------------------------
        layer_scratch s;
        for (auto* buf : {&s.h, &s.q, &s.k, &s.v, &s.a}) buf->resize(static_cast<size_t>(rows * d));
        s.m.resize(static_cast<size_t>(rows * e.intermediate_size));
        std::map<int64_t, std::vector<float>> states;  // LLaVA's selected hidden states
        auto keep_state = [&](int64_t index) {
            if (clip && std::find(cfg.feature_layers.begin(), cfg.feature_layers.end(), index) !=
                            cfg.feature_layers.end())
                states[index] = x;
        };
        keep_state(0);
        for (size_t l = 0; l < w.layers.size(); ++l) {
            encoder_layer(w.layers[l], e, x.data(), n, seq, s, pool);
            keep_state(static_cast<int64_t>(l) + 1);
        }
        s = {};

        // -- projector / connector ------------------------------------------------------------
        float* dst = out.data.data() + first * *tokens * out.dim;
        if (clip) {
            const int64_t skip = cfg.drop_class_token ? 1 : 0, ntok = seq - skip;
            const int64_t nsel = static_cast<int64_t>(cfg.feature_layers.size());
            std::vector<float> selected(static_cast<size_t>(n * ntok * d * nsel));
            pool.parallel_for(n * ntok, [&](int64_t r0, int64_t r1) {
                for (int64_t r = r0; r < r1; ++r) {
                    const int64_t src_row = (r / ntok) * seq + r % ntok + skip;
                    for (int64_t k = 0; k < nsel; ++k)
                        std::memcpy(&selected[(r * nsel + k) * d],
                                    &states.at(cfg.feature_layers[k])[src_row * d], d * sizeof(float));
                }
            });
            std::vector<float> hidden(static_cast<size_t>(n * ntok * out.dim));
            linear(w.projector_1, selected.data(), n * ntok, hidden.data(), pool);
            activation_rows(cfg.projector_act, hidden.data(), n * ntok, out.dim, pool);
            linear(w.projector_2, hidden.data(), n * ntok, dst, pool);
        } else {
            layernorm_rows(w.post_norm, x.data(), x.data(), rows, d, e.layer_norm_eps, pool);
            // Pixel shuffle: output token (i, j) of a (g / s)^2 grid is the concatenation of
            // patches (i * s + a, j * s + b), a outer, b inner (Idefics3Connector.pixel_shuffle).
            const int64_t sf = cfg.scale_factor, og = gh / sf, width_in = d * sf * sf;
            std::vector<float> shuffled(static_cast<size_t>(n * og * og * width_in));
            pool.parallel_for(n * og * og, [&](int64_t r0, int64_t r1) {
                for (int64_t r = r0; r < r1; ++r) {
                    const int64_t img = r / (og * og), i = (r % (og * og)) / og, j = r % og;
                    for (int64_t a = 0; a < sf; ++a)
                        for (int64_t b = 0; b < sf; ++b) {
                            const int64_t patch = (i * sf + a) * gw + j * sf + b;
                            std::memcpy(&shuffled[r * width_in + (a * sf + b) * d],
                                        &x[(img * seq + patch) * d], d * sizeof(float));
                        }
                }
            });
            linear(w.connector, shuffled.data(), n * og * og, dst, pool);
        }
    }
    return out;
}

result<vision_features> vision_tower::encode(const processed_image& image,
                                             cpu::thread_pool& pool) const {
    const auto& shape = image.shape;
    const int64_t channels = model_->config.encoder.num_channels;
    if (model_->config.family == vision_family::qwen2_5_vl) {
        const vision_tower_config& cfg = model_->config;
        const int64_t row = channels * cfg.temporal_patch_size * cfg.encoder.patch_size *
                            cfg.encoder.patch_size;
        const auto& g = image.grid_thw;
        if (shape.size() != 2 || shape[1] != row || shape[0] != g[0] * g[1] * g[2] ||
            static_cast<int64_t>(image.pixel_values.size()) != shape[0] * row)
            return make_error(error_kind::invalid_argument,
                              "vision tower: pixel values are not %lld-wide Qwen2.5-VL patch "
                              "rows matching grid_thw",
                              static_cast<long long>(row));
        return encode_patches(image.pixel_values.data(), {g}, pool);
    }
    int64_t n = 0;
    if (model_->config.family == vision_family::clip_llava && shape.size() == 3 &&
        shape[0] == channels) {
        n = 1;
    } else if (model_->config.family == vision_family::siglip_idefics3 && shape.size() == 4 &&
               shape[1] == channels) {
        n = shape[0];
    } else {
        std::string s;
        for (int64_t v : shape) {
            if (!s.empty()) s += 'x';
            s += std::to_string(v);
        }
        return make_error(error_kind::invalid_argument,
                          "vision tower: pixel values of shape %s are not %s input", s.c_str(),
                          model_->config.model_type.c_str());
    }
    const int64_t h = shape[shape.size() - 2], w = shape.back();
    if (static_cast<int64_t>(image.pixel_values.size()) != n * channels * h * w)
        return make_error(error_kind::invalid_argument,
                          "vision tower: %zu pixel values do not fill their shape",
                          image.pixel_values.size());
    return encode(image.pixel_values.data(), n, h, w, pool);
}

}  // namespace actorlm::multimodal

// Test-only dense reference forward pass shared by the engine and GPU suites: one
// sequence, no paging, no batching, every value in double, written from the model
// definitions and independent of the kernels under test. It follows config.recipe
// (biases, Q/K norm, plain or (1 + w) norms, SiLU or gelu-tanh gating, post-norms,
// embedding and attention scales, attention and final soft-caps), interleaved or NeoX
// RoPE with linear / Llama-3 scaling (the sliding layers' own when the config has one)
// and a full or sliding-window causal mask per layer. Also builds random F32 models of any config
// in memory. Header-only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "model/model_config.hpp"
#include "model/model_weights.hpp"
#include "model/weight_binding.hpp"

namespace actorlm::test {

/// A small config of the given family; `variant` picks a second flavour
/// (llama: Mistral-style NeoX + Llama-3 scaling instead of GGUF interleaved;
/// qwen2: linear RoPE scaling).
inline model_config tiny_config(model_arch arch, int variant = 0) {
    model_config c;
    c.arch = arch;
    c.vocab_size = 97;
    c.hidden_size = 48;
    c.intermediate_size = 80;
    c.num_layers = 2;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.head_dim = 16;  // q_dim 64 != hidden 48: catches hidden/head_dim mix-ups
    c.max_position = 256;
    c.rms_norm_eps = 1e-5f;
    c.bos_token_id = 1;
    c.eos_token_ids = {2};
    switch (arch) {
        case model_arch::llama:
            c.rope_neox = variant != 0;
            if (variant != 0) {
                c.rope_theta = 500000.0f;
                c.rope_scaling.type = rope_scaling_type::llama3;
                c.rope_scaling.factor = 8.0f;
                c.rope_scaling.low_freq_factor = 1.0f;
                c.rope_scaling.high_freq_factor = 4.0f;
                c.rope_scaling.original_max_position = 64;
            }
            break;
        case model_arch::qwen2:
            c.rope_neox = true;
            c.rope_theta = 1000000.0f;
            c.recipe.qkv_bias = true;
            c.num_kv_heads = 1;
            if (variant != 0) {
                c.rope_scaling.type = rope_scaling_type::linear;
                c.rope_scaling.factor = 2.0f;
            }
            break;
        case model_arch::qwen3:
            c.rope_neox = true;
            c.rope_theta = 1000000.0f;
            c.recipe.qk_norm = true;
            c.tie_word_embeddings = true;
            break;
        case model_arch::gemma2:
        case model_arch::gemma3:
            // Gemma's recipe on the tiny shape, local and global layers alternating; gemma3's
            // local layers turn with their own RoPE (base 1000 against 1e6 with a linear 8).
            c.rope_neox = true;
            c.tie_word_embeddings = true;
            c.recipe.norm_weight = norm_weight_kind::one_plus;
            c.recipe.activation = ffn_activation::gelu_tanh;
            c.recipe.post_attention_norm = true;
            c.recipe.post_ffn_norm = true;
            c.recipe.embedding_scale = std::sqrt(static_cast<float>(c.hidden_size));
            c.recipe.attention_scale = 0.2f;
            c.sliding_window = 3;
            c.sliding_layers = {true, false};
            if (arch == model_arch::gemma2) {
                c.recipe.attention_softcap = 0.05f;  // these tiny scores: a cap that bends them
                c.recipe.final_logit_softcap = 0.5f;
            } else {
                c.recipe.qk_norm = true;
                c.rope_theta = 1000000.0f;
                c.rope_scaling.type = rope_scaling_type::linear;
                c.rope_scaling.factor = 8.0f;
                c.sliding_rope_theta = 1000.0f;
            }
            break;
        case model_arch::bert:  // an encoder: checked against transformers instead
            break;                // (tests/engine/bert_embedding_test.cpp)
        case model_arch::mixtral:    // mixture of experts: checked against transformers
        case model_arch::qwen3_moe:  // (tests/engine/moe_reference_test.cpp)
            break;
    }
    return c;
}

/// Value ranges of random_weights. The defaults keep activations O(1) in the small
/// engine models; the GPU suite uses wider matrices (variance 1 / fan_in).
struct random_weight_ranges {
    float matrix = 1.0f;   // matrices uniform in +-matrix / sqrt(fan_in)
    float bias = 0.5f;     // biases uniform in +-bias
    float qk_norm = 0.5f;  // Q/K norm weights uniform in 1 +- qk_norm
};

/// Random F32 weights for `c` (every tensor its recipe needs, with GGUF names), owned by
/// the returned weights' storage. Norms are near 1 as applied: near 0 when the recipe
/// stores w - 1.
inline model_weights random_weights(const model_config& c, uint32_t seed,
                                    const random_weight_ranges& ranges = {}) {
    model_weights w;
    std::mt19937 rng(seed);
    auto make = [&](const std::string& name, std::vector<int64_t> shape, float lo, float hi) {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        auto buf = std::make_shared<std::vector<float>>(static_cast<size_t>(n));
        std::uniform_real_distribution<float> dist(lo, hi);
        for (float& v : *buf) v = dist(rng);
        tensor t;
        t.name = name;
        t.type = dtype::f32;
        t.shape = std::move(shape);
        t.data = buf->data();
        t.num_bytes = buf->size() * sizeof(float);
        w.storage.push_back(buf);
        return t;
    };
    auto matrix = [&](const std::string& name, int64_t rows, int64_t cols) {
        const float a = ranges.matrix / std::sqrt(static_cast<float>(cols));
        return make(name, {rows, cols}, -a, a);
    };
    const float base = c.recipe.norm_weight == norm_weight_kind::one_plus ? 0.0f : 1.0f;
    auto norm = [&](const std::string& name, int64_t n, float spread) {
        return make(name, {n}, base - spread, base + spread);
    };
    const int64_t h = c.hidden_size, f = c.intermediate_size;
    const int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
    const weight_names names = gguf_weight_names(c.arch);
    w.token_embedding = make(names.token_embedding, {c.vocab_size, h}, -1.0f, 1.0f);
    w.output_norm = norm(names.output_norm, h, 0.2f);
    w.lm_head = c.tie_word_embeddings ? w.token_embedding : matrix(names.lm_head, c.vocab_size, h);
    for (int64_t l = 0; l < c.num_layers; ++l) {
        auto name = [&](weight_role r) { return names.layer(l, r); };
        layer_weights lw;
        lw.attn_norm = norm(name(weight_role::attn_norm), h, 0.2f);
        lw.wq = matrix(name(weight_role::wq), q_dim, h);
        lw.wk = matrix(name(weight_role::wk), kv_dim, h);
        lw.wv = matrix(name(weight_role::wv), kv_dim, h);
        lw.wo = matrix(name(weight_role::wo), h, q_dim);
        if (c.recipe.qkv_bias) {
            lw.bq = make(name(weight_role::bq), {q_dim}, -ranges.bias, ranges.bias);
            lw.bk = make(name(weight_role::bk), {kv_dim}, -ranges.bias, ranges.bias);
            lw.bv = make(name(weight_role::bv), {kv_dim}, -ranges.bias, ranges.bias);
        }
        if (c.recipe.qk_norm) {
            lw.q_norm = norm(name(weight_role::q_norm), c.head_dim, ranges.qk_norm);
            lw.k_norm = norm(name(weight_role::k_norm), c.head_dim, ranges.qk_norm);
        }
        lw.ffn_norm = norm(name(weight_role::ffn_norm), h, 0.2f);
        if (c.recipe.post_attention_norm)
            lw.post_attn_norm = norm(name(weight_role::post_attn_norm), h, 0.2f);
        if (c.recipe.post_ffn_norm)
            lw.post_ffn_norm = norm(name(weight_role::post_ffn_norm), h, 0.2f);
        lw.w_gate = matrix(name(weight_role::w_gate), f, h);
        lw.w_up = matrix(name(weight_role::w_up), f, h);
        lw.w_down = matrix(name(weight_role::w_down), h, f);
        w.layers.push_back(lw);
    }
    return w;
}

namespace ref {

inline const float* f32(const tensor& t) { return static_cast<const float*>(t.data); }

inline std::vector<double> matvec(const tensor& w, const std::vector<double>& x) {
    std::vector<double> y(static_cast<size_t>(w.rows()), 0.0);
    for (int64_t r = 0; r < w.rows(); ++r)
        for (int64_t c = 0; c < w.cols(); ++c) y[r] += f32(w)[r * w.cols() + c] * x[c];
    return y;
}

/// x / rms(x) * w, or * (1 + w) when the recipe stores w - 1.
inline void rmsnorm(const model_config& c, double* x, const float* w, int64_t n) {
    const double one = c.recipe.norm_weight == norm_weight_kind::one_plus ? 1.0 : 0.0;
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
    const double inv = 1.0 / std::sqrt(ss / n + c.rms_norm_eps);
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] * inv * (one + w[i]);
}

inline double softcap(double x, double cap) { return cap > 0 ? cap * std::tanh(x / cap) : x; }

inline double activation(const model_config& c, double g) {
    if (c.recipe.activation == ffn_activation::gelu_tanh) {
        const double inner = std::sqrt(2.0 / std::numbers::pi) * (g + 0.044715 * g * g * g);
        return 0.5 * g * (1 + std::tanh(inner));
    }
    return g / (1 + std::exp(-g));
}

inline double inv_freq(const model_config& c, int64_t i) {
    double f = std::pow(static_cast<double>(c.rope_theta), -2.0 * i / c.head_dim);
    const rope_scaling& s = c.rope_scaling;
    if (s.type == rope_scaling_type::linear) return f / s.factor;
    if (s.type != rope_scaling_type::llama3) return f;
    const double wavelen = 2 * std::numbers::pi / f;
    const double lo = s.original_max_position / s.low_freq_factor;
    const double hi = s.original_max_position / s.high_freq_factor;
    if (wavelen < hi) return f;
    if (wavelen > lo) return f / s.factor;
    const double smooth = (s.original_max_position / wavelen - s.low_freq_factor) /
                          (s.high_freq_factor - s.low_freq_factor);
    return (1 - smooth) * f / s.factor + smooth * f;
}

/// The config whose rope_theta / rope_scaling turn a layer of `window` (> 0: sliding): the
/// sliding layers' own RoPE when the model has one (Gemma 3), else `c`'s.
inline model_config layer_rope_config(const model_config& c, int64_t window) {
    model_config r = c;
    if (window > 0 && c.sliding_rope_theta > 0.0f) {
        r.rope_theta = c.sliding_rope_theta;
        r.rope_scaling = c.sliding_rope_scaling;
    }
    return r;
}

inline void rope(const model_config& c, double* head, int64_t pos) {
    const int64_t half = c.head_dim / 2;
    for (int64_t i = 0; i < half; ++i) {
        const double a = pos * inv_freq(c, i);
        const int64_t i0 = c.rope_neox ? i : 2 * i, i1 = c.rope_neox ? i + half : 2 * i + 1;
        const double x0 = head[i0], x1 = head[i1];
        head[i0] = x0 * std::cos(a) - x1 * std::sin(a);
        head[i1] = x0 * std::sin(a) + x1 * std::cos(a);
    }
}

}  // namespace ref

/// The hidden state of every position of one sequence after the final norm (what
/// lm_head reads, and what embedding requests pool), one row of hidden_size each.
inline std::vector<std::vector<double>> reference_hidden_states(
    const model_config& c, const model_weights& w, const std::vector<int32_t>& tokens) {
    const model_recipe& r = c.recipe;
    const int64_t n = static_cast<int64_t>(tokens.size()), h = c.hidden_size, hd = c.head_dim;
    const int64_t nh = c.num_heads, nkv = c.num_kv_heads, group = nh / nkv;
    const double scale = r.attention_scale != 0.0f ? static_cast<double>(r.attention_scale)
                                                   : 1.0 / std::sqrt(static_cast<double>(hd));
    std::vector<std::vector<double>> x(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
        const float* row = ref::f32(w.token_embedding) + tokens[t] * h;
        x[t].assign(row, row + h);
        for (double& v : x[t]) v *= r.embedding_scale;
    }
    for (size_t layer = 0; layer < w.layers.size(); ++layer) {
        const layer_weights& lw = w.layers[layer];
        // Sliding window: position t sees keys j with t - j < window (transformers' mask).
        const int64_t window = layer_attention_window(c, static_cast<int64_t>(layer));
        const model_config rc = ref::layer_rope_config(c, window);
        std::vector<std::vector<double>> q(n), k(n), v(n);
        for (int64_t t = 0; t < n; ++t) {
            std::vector<double> xn = x[t];
            ref::rmsnorm(c, xn.data(), ref::f32(lw.attn_norm), h);
            q[t] = ref::matvec(lw.wq, xn);
            k[t] = ref::matvec(lw.wk, xn);
            v[t] = ref::matvec(lw.wv, xn);
            if (r.qkv_bias) {
                for (size_t i = 0; i < q[t].size(); ++i) q[t][i] += ref::f32(lw.bq)[i];
                for (size_t i = 0; i < k[t].size(); ++i) k[t][i] += ref::f32(lw.bk)[i];
                for (size_t i = 0; i < v[t].size(); ++i) v[t][i] += ref::f32(lw.bv)[i];
            }
            for (int64_t hh = 0; hh < nh; ++hh) {
                if (r.qk_norm) ref::rmsnorm(c, &q[t][hh * hd], ref::f32(lw.q_norm), hd);
                ref::rope(rc, &q[t][hh * hd], t);
            }
            for (int64_t hh = 0; hh < nkv; ++hh) {
                if (r.qk_norm) ref::rmsnorm(c, &k[t][hh * hd], ref::f32(lw.k_norm), hd);
                ref::rope(rc, &k[t][hh * hd], t);
            }
        }
        for (int64_t t = 0; t < n; ++t) {
            std::vector<double> att(static_cast<size_t>(nh * hd), 0.0);
            for (int64_t hh = 0; hh < nh; ++hh) {
                const int64_t kh = hh / group;
                std::vector<double> s(static_cast<size_t>(t + 1));
                double mx = -1e300, sum = 0;
                auto seen = [&](int64_t j) { return window == 0 || t - j < window; };
                for (int64_t j = 0; j <= t; ++j) {
                    if (!seen(j)) continue;
                    double d = 0;
                    for (int64_t i = 0; i < hd; ++i) d += q[t][hh * hd + i] * k[j][kh * hd + i];
                    s[j] = ref::softcap(d * scale, r.attention_softcap);
                    mx = std::max(mx, s[j]);
                }
                for (int64_t j = 0; j <= t; ++j)
                    sum += (s[j] = seen(j) ? std::exp(s[j] - mx) : 0.0);
                for (int64_t j = 0; j <= t; ++j)
                    for (int64_t i = 0; i < hd; ++i)
                        att[hh * hd + i] += s[j] / sum * v[j][kh * hd + i];
            }
            std::vector<double> o = ref::matvec(lw.wo, att);
            if (r.post_attention_norm) ref::rmsnorm(c, o.data(), ref::f32(lw.post_attn_norm), h);
            for (int64_t i = 0; i < h; ++i) x[t][i] += o[i];
            std::vector<double> xn = x[t];
            ref::rmsnorm(c, xn.data(), ref::f32(lw.ffn_norm), h);
            std::vector<double> g = ref::matvec(lw.w_gate, xn), u = ref::matvec(lw.w_up, xn);
            for (size_t i = 0; i < g.size(); ++i) g[i] = ref::activation(c, g[i]) * u[i];
            std::vector<double> d = ref::matvec(lw.w_down, g);
            if (r.post_ffn_norm) ref::rmsnorm(c, d.data(), ref::f32(lw.post_ffn_norm), h);
            for (int64_t i = 0; i < h; ++i) x[t][i] += d[i];
        }
    }
    for (int64_t t = 0; t < n; ++t) ref::rmsnorm(c, x[t].data(), ref::f32(w.output_norm), h);
    return x;
}

/// Logits ([tokens.size()][vocab]) of every position of one sequence.
inline std::vector<double> reference_forward(const model_config& c, const model_weights& w,
                                             const std::vector<int32_t>& tokens) {
    std::vector<double> logits;
    for (const std::vector<double>& xn : reference_hidden_states(c, w, tokens))
        for (double l : ref::matvec(w.lm_head, xn))
            logits.push_back(ref::softcap(l, c.recipe.final_logit_softcap));
    return logits;
}

/// reference_forward split into one logits row per position.
inline std::vector<std::vector<double>> reference_logits(const model_config& c,
                                                         const model_weights& w,
                                                         const std::vector<int32_t>& tokens) {
    const std::vector<double> flat = reference_forward(c, w, tokens);
    const size_t v = static_cast<size_t>(c.vocab_size);
    std::vector<std::vector<double>> rows;
    for (size_t i = 0; i + v <= flat.size(); i += v)
        rows.emplace_back(flat.begin() + static_cast<long>(i),
                          flat.begin() + static_cast<long>(i + v));
    return rows;
}

}  // namespace actorlm::test

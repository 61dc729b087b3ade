// Test-only dense reference forward pass: one sequence, no paging, no batching,
// every value in double, written from the model definitions (Llama / Qwen2 bias /
// Qwen3 Q-K norm; interleaved or NeoX RoPE with linear / Llama-3 scaling; full or
// sliding-window causal mask per layer) and
// independent of the kernels under test. Also builds random F32 models in memory.
#pragma once

#include <cmath>
#include <cstring>
#include <memory>
#include <numbers>
#include <random>
#include <vector>

#include "model/model_config.hpp"
#include "model/model_weights.hpp"

namespace actorlm::test {

/// A small config of the given family; `variant` picks a second flavour
/// (llama: Mistral-style NeoX + Llama-3 scaling instead of GGUF interleaved).
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
            c.attention_bias = true;
            c.num_kv_heads = 1;
            if (variant != 0) {
                c.rope_scaling.type = rope_scaling_type::linear;
                c.rope_scaling.factor = 2.0f;
            }
            break;
        case model_arch::qwen3:
            c.rope_neox = true;
            c.rope_theta = 1000000.0f;
            c.qk_norm = true;
            c.tie_word_embeddings = true;
            break;
    }
    return c;
}

/// Random F32 weights for `c`, owned by the returned weights' storage. Matrices are
/// uniform in +-1/sqrt(fan_in) so that activations stay O(1); norms near 1.
inline model_weights random_weights(const model_config& c, uint32_t seed) {
    model_weights w;
    std::mt19937 rng(seed);
    auto make = [&](const char* name, std::vector<int64_t> shape, float lo, float hi) {
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
    auto matrix = [&](const char* name, int64_t rows, int64_t cols) {
        const float a = 1.0f / std::sqrt(static_cast<float>(cols));
        return make(name, {rows, cols}, -a, a);
    };
    const int64_t h = c.hidden_size, f = c.intermediate_size;
    const int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
    w.token_embedding = make("token_embd", {c.vocab_size, h}, -1.0f, 1.0f);
    w.output_norm = make("output_norm", {h}, 0.8f, 1.2f);
    w.lm_head = c.tie_word_embeddings ? w.token_embedding : matrix("output", c.vocab_size, h);
    for (int64_t l = 0; l < c.num_layers; ++l) {
        layer_weights lw;
        lw.attn_norm = make("attn_norm", {h}, 0.8f, 1.2f);
        lw.wq = matrix("wq", q_dim, h);
        lw.wk = matrix("wk", kv_dim, h);
        lw.wv = matrix("wv", kv_dim, h);
        lw.wo = matrix("wo", h, q_dim);
        if (c.attention_bias) {
            lw.bq = make("bq", {q_dim}, -0.5f, 0.5f);
            lw.bk = make("bk", {kv_dim}, -0.5f, 0.5f);
            lw.bv = make("bv", {kv_dim}, -0.5f, 0.5f);
        }
        if (c.qk_norm) {
            lw.q_norm = make("q_norm", {c.head_dim}, 0.5f, 1.5f);
            lw.k_norm = make("k_norm", {c.head_dim}, 0.5f, 1.5f);
        }
        lw.ffn_norm = make("ffn_norm", {h}, 0.8f, 1.2f);
        lw.w_gate = matrix("w_gate", f, h);
        lw.w_up = matrix("w_up", f, h);
        lw.w_down = matrix("w_down", h, f);
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

inline void rmsnorm(double* x, const float* w, int64_t n, double eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
    const double inv = 1.0 / std::sqrt(ss / n + eps);
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] * inv * w[i];
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

/// Logits ([tokens.size()][vocab]) of every position of one sequence.
inline std::vector<double> reference_forward(const model_config& c, const model_weights& w,
                                             const std::vector<int32_t>& tokens) {
    const int64_t n = static_cast<int64_t>(tokens.size()), h = c.hidden_size, hd = c.head_dim;
    const int64_t nh = c.num_heads, nkv = c.num_kv_heads, group = nh / nkv;
    std::vector<std::vector<double>> x(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t)
        x[t].assign(ref::f32(w.token_embedding) + tokens[t] * h, ref::f32(w.token_embedding) + (tokens[t] + 1) * h);
    for (size_t layer = 0; layer < w.layers.size(); ++layer) {
        const layer_weights& lw = w.layers[layer];
        // Sliding window: position t sees keys j with t - j < window (transformers' mask).
        const int64_t window = layer_attention_window(c, static_cast<int64_t>(layer));
        std::vector<std::vector<double>> q(n), k(n), v(n);
        for (int64_t t = 0; t < n; ++t) {
            std::vector<double> xn = x[t];
            ref::rmsnorm(xn.data(), ref::f32(lw.attn_norm), h, c.rms_norm_eps);
            q[t] = ref::matvec(lw.wq, xn);
            k[t] = ref::matvec(lw.wk, xn);
            v[t] = ref::matvec(lw.wv, xn);
            if (c.attention_bias) {
                for (size_t i = 0; i < q[t].size(); ++i) q[t][i] += ref::f32(lw.bq)[i];
                for (size_t i = 0; i < k[t].size(); ++i) k[t][i] += ref::f32(lw.bk)[i];
                for (size_t i = 0; i < v[t].size(); ++i) v[t][i] += ref::f32(lw.bv)[i];
            }
            for (int64_t hh = 0; hh < nh; ++hh) {
                if (c.qk_norm) ref::rmsnorm(&q[t][hh * hd], ref::f32(lw.q_norm), hd, c.rms_norm_eps);
                ref::rope(c, &q[t][hh * hd], t);
            }
            for (int64_t hh = 0; hh < nkv; ++hh) {
                if (c.qk_norm) ref::rmsnorm(&k[t][hh * hd], ref::f32(lw.k_norm), hd, c.rms_norm_eps);
                ref::rope(c, &k[t][hh * hd], t);
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
                    s[j] = d / std::sqrt(static_cast<double>(hd));
                    mx = std::max(mx, s[j]);
                }
                for (int64_t j = 0; j <= t; ++j)
                    sum += (s[j] = seen(j) ? std::exp(s[j] - mx) : 0.0);
                for (int64_t j = 0; j <= t; ++j)
                    for (int64_t i = 0; i < hd; ++i) att[hh * hd + i] += s[j] / sum * v[j][kh * hd + i];
            }
            const std::vector<double> o = ref::matvec(lw.wo, att);
            for (int64_t i = 0; i < h; ++i) x[t][i] += o[i];
            std::vector<double> xn = x[t];
            ref::rmsnorm(xn.data(), ref::f32(lw.ffn_norm), h, c.rms_norm_eps);
            std::vector<double> g = ref::matvec(lw.w_gate, xn), u = ref::matvec(lw.w_up, xn);
            for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
            const std::vector<double> d = ref::matvec(lw.w_down, g);
            for (int64_t i = 0; i < h; ++i) x[t][i] += d[i];
        }
    }
    std::vector<double> logits;
    for (int64_t t = 0; t < n; ++t) {
        std::vector<double> xn = x[t];
        ref::rmsnorm(xn.data(), ref::f32(w.output_norm), h, c.rms_norm_eps);
        const std::vector<double> l = ref::matvec(w.lm_head, xn);
        logits.insert(logits.end(), l.begin(), l.end());
    }
    return logits;
}

}  // namespace actorlm::test

// Double-precision reference decoder and the paged-sequence test driver (see
// reference_model.hpp). Written for clarity, not speed: models here are tiny.
#include "reference_model.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace actorlm::test {

namespace {

tensor make_tensor(model_weights& w, const std::string& name, std::vector<int64_t> shape,
                   std::mt19937& rng, float lo, float hi) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    auto data = std::make_shared<std::vector<float>>(static_cast<size_t>(n));
    std::uniform_real_distribution<float> dist(lo, hi);
    for (float& v : *data) v = dist(rng);
    tensor t;
    t.name = name;
    t.type = dtype::f32;
    t.shape = std::move(shape);
    t.data = data->data();
    t.num_bytes = data->size() * sizeof(float);
    w.storage.push_back(data);
    return t;
}

tensor matrix(model_weights& w, const std::string& name, int64_t out, int64_t in,
              std::mt19937& rng) {
    const float a = std::sqrt(3.0f / static_cast<float>(in));
    return make_tensor(w, name, {out, in}, rng, -a, a);
}

const float* f32(const tensor& t) { return static_cast<const float*>(t.data); }

// y = W x for W {out, in}.
std::vector<double> matvec(const tensor& w, const std::vector<double>& x) {
    const int64_t out = w.rows(), in = w.cols();
    std::vector<double> y(static_cast<size_t>(out));
    const float* d = f32(w);
    for (int64_t o = 0; o < out; ++o) {
        double acc = 0;
        for (int64_t i = 0; i < in; ++i) acc += double(d[o * in + i]) * x[static_cast<size_t>(i)];
        y[static_cast<size_t>(o)] = acc;
    }
    return y;
}

void rms_norm(std::vector<double>& x, size_t off, size_t n, const float* w, double eps) {
    double ss = 0;
    for (size_t i = 0; i < n; ++i) ss += x[off + i] * x[off + i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    for (size_t i = 0; i < n; ++i) x[off + i] = x[off + i] * inv * w[i];
}

void add_bias(std::vector<double>& x, const tensor& b) {
    if (!b.present()) return;
    for (size_t i = 0; i < x.size(); ++i) x[i] += f32(b)[i];
}

void rope(std::vector<double>& x, int64_t heads, int64_t hd, int64_t pos, const model_config& c) {
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < hd / 2; ++i) {
            const double ang = double(pos) * std::pow(double(c.rope_theta), -2.0 * i / hd);
            const size_t i0 = static_cast<size_t>(h * hd + (c.rope_neox ? i : 2 * i));
            const size_t i1 = static_cast<size_t>(h * hd + (c.rope_neox ? i + hd / 2 : 2 * i + 1));
            const double a = x[i0], b = x[i1];
            x[i0] = a * std::cos(ang) - b * std::sin(ang);
            x[i1] = a * std::sin(ang) + b * std::cos(ang);
        }
}

}  // namespace

model_weights random_model(const model_config& c, uint32_t seed) {
    std::mt19937 rng(seed);
    model_weights w;
    const int64_t h = c.hidden_size, hd = c.head_dim;
    w.token_embedding = make_tensor(w, "token_embd.weight", {c.vocab_size, h}, rng, -1, 1);
    w.output_norm = make_tensor(w, "output_norm.weight", {h}, rng, 0.8f, 1.2f);
    w.lm_head = c.tie_word_embeddings ? w.token_embedding : matrix(w, "output.weight", c.vocab_size, h, rng);
    for (int64_t l = 0; l < c.num_layers; ++l) {
        layer_weights L;
        const std::string p = "blk." + std::to_string(l) + ".";
        L.attn_norm = make_tensor(w, p + "attn_norm", {h}, rng, 0.8f, 1.2f);
        L.ffn_norm = make_tensor(w, p + "ffn_norm", {h}, rng, 0.8f, 1.2f);
        L.wq = matrix(w, p + "attn_q", c.num_heads * hd, h, rng);
        L.wk = matrix(w, p + "attn_k", c.num_kv_heads * hd, h, rng);
        L.wv = matrix(w, p + "attn_v", c.num_kv_heads * hd, h, rng);
        L.wo = matrix(w, p + "attn_output", h, c.num_heads * hd, rng);
        L.w_gate = matrix(w, p + "ffn_gate", c.intermediate_size, h, rng);
        L.w_up = matrix(w, p + "ffn_up", c.intermediate_size, h, rng);
        L.w_down = matrix(w, p + "ffn_down", h, c.intermediate_size, rng);
        if (c.attention_bias) {
            L.bq = make_tensor(w, p + "attn_q.bias", {c.num_heads * hd}, rng, -0.2f, 0.2f);
            L.bk = make_tensor(w, p + "attn_k.bias", {c.num_kv_heads * hd}, rng, -0.2f, 0.2f);
            L.bv = make_tensor(w, p + "attn_v.bias", {c.num_kv_heads * hd}, rng, -0.2f, 0.2f);
        }
        if (c.qk_norm) {
            L.q_norm = make_tensor(w, p + "attn_q_norm", {hd}, rng, 0.8f, 1.2f);
            L.k_norm = make_tensor(w, p + "attn_k_norm", {hd}, rng, 0.8f, 1.2f);
        }
        w.layers.push_back(L);
    }
    return w;
}

std::vector<std::vector<double>> reference_logits(const model_config& c, const model_weights& w,
                                                  const std::vector<int32_t>& tokens) {
    const int64_t n = static_cast<int64_t>(tokens.size()), h = c.hidden_size, hd = c.head_dim;
    const int64_t group = c.num_heads / c.num_kv_heads;
    const double eps = c.rms_norm_eps;
    std::vector<std::vector<double>> x(static_cast<size_t>(n), std::vector<double>(static_cast<size_t>(h)));
    for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < h; ++i) x[t][i] = f32(w.token_embedding)[tokens[t] * h + i];
    for (size_t layer = 0; layer < w.layers.size(); ++layer) {
        const layer_weights& L = w.layers[layer];
        // Sliding window: position t sees keys j with t - j < window (transformers' mask).
        const int64_t window = layer_attention_window(c, static_cast<int64_t>(layer));
        std::vector<std::vector<double>> q(n), k(n), v(n);
        for (int64_t t = 0; t < n; ++t) {
            std::vector<double> xn = x[t];
            rms_norm(xn, 0, static_cast<size_t>(h), f32(L.attn_norm), eps);
            q[t] = matvec(L.wq, xn);
            k[t] = matvec(L.wk, xn);
            v[t] = matvec(L.wv, xn);
            add_bias(q[t], L.bq);
            add_bias(k[t], L.bk);
            add_bias(v[t], L.bv);
            if (c.qk_norm) {
                for (int64_t hh = 0; hh < c.num_heads; ++hh) rms_norm(q[t], hh * hd, hd, f32(L.q_norm), eps);
                for (int64_t hh = 0; hh < c.num_kv_heads; ++hh) rms_norm(k[t], hh * hd, hd, f32(L.k_norm), eps);
            }
            rope(q[t], c.num_heads, hd, t, c);
            rope(k[t], c.num_kv_heads, hd, t, c);
        }
        for (int64_t t = 0; t < n; ++t) {
            std::vector<double> att(static_cast<size_t>(c.num_heads * hd), 0.0);
            for (int64_t hh = 0; hh < c.num_heads; ++hh) {
                const int64_t kvh = hh / group;
                std::vector<double> s(static_cast<size_t>(t + 1));
                double mx = -1e300;
                auto seen = [&](int64_t j) { return window == 0 || t - j < window; };
                for (int64_t j = 0; j <= t; ++j) {
                    if (!seen(j)) continue;
                    double dot = 0;
                    for (int64_t d = 0; d < hd; ++d) dot += q[t][hh * hd + d] * k[j][kvh * hd + d];
                    s[j] = dot / std::sqrt(double(hd));
                    mx = std::max(mx, s[j]);
                }
                double sum = 0;
                for (int64_t j = 0; j <= t; ++j)
                    sum += (s[j] = seen(j) ? std::exp(s[j] - mx) : 0.0);
                for (int64_t j = 0; j <= t; ++j)
                    for (int64_t d = 0; d < hd; ++d) att[hh * hd + d] += s[j] / sum * v[j][kvh * hd + d];
            }
            const auto o = matvec(L.wo, att);
            for (int64_t i = 0; i < h; ++i) x[t][i] += o[i];
            std::vector<double> xn = x[t];
            rms_norm(xn, 0, static_cast<size_t>(h), f32(L.ffn_norm), eps);
            const auto g = matvec(L.w_gate, xn), u = matvec(L.w_up, xn);
            std::vector<double> a(g.size());
            for (size_t i = 0; i < a.size(); ++i) a[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
            const auto dn = matvec(L.w_down, a);
            for (int64_t i = 0; i < h; ++i) x[t][i] += dn[i];
        }
    }
    std::vector<std::vector<double>> logits(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
        std::vector<double> xn = x[t];
        rms_norm(xn, 0, static_cast<size_t>(h), f32(w.output_norm), eps);
        logits[t] = matvec(w.lm_head, xn);
    }
    return logits;
}

paged_sequences::paged_sequences(int32_t num_blocks, int32_t block_size, uint32_t seed)
    : block_size_(block_size) {
    for (int32_t i = 0; i < num_blocks; ++i) free_.push_back(i);
    std::mt19937 rng(seed);
    std::shuffle(free_.begin(), free_.end(), rng);
}

int32_t paged_sequences::add(std::vector<int32_t> tokens) {
    seqs_.push_back({std::move(tokens), {}, 0});
    return static_cast<int32_t>(seqs_.size()) - 1;
}

forward_batch paged_sequences::step(const std::vector<std::pair<int32_t, int32_t>>& work) {
    forward_batch b;
    int32_t max_blocks = 1;
    for (auto [s, count] : work) {
        sequence& q = seqs_[static_cast<size_t>(s)];
        const int32_t len = q.computed + count;
        REQUIRE(len <= static_cast<int32_t>(q.tokens.size()));
        while (static_cast<int32_t>(q.blocks.size()) * block_size_ < len) {
            REQUIRE(!free_.empty());
            q.blocks.push_back(free_.back());
            free_.pop_back();
        }
        max_blocks = std::max(max_blocks, static_cast<int32_t>(q.blocks.size()));
    }
    b.max_blocks_per_seq = max_blocks;
    b.query_start_loc.push_back(0);
    for (auto [s, count] : work) {
        sequence& q = seqs_[static_cast<size_t>(s)];
        for (int32_t p = q.computed; p < q.computed + count; ++p) {
            b.token_ids.push_back(q.tokens[static_cast<size_t>(p)]);
            b.positions.push_back(p);
            b.slot_mapping.push_back(static_cast<int64_t>(q.blocks[static_cast<size_t>(p / block_size_)]) *
                                         block_size_ + p % block_size_);
        }
        q.computed += count;
        b.query_start_loc.push_back(b.num_tokens());
        b.seq_lens.push_back(q.computed);
        b.logits_indices.push_back(b.num_tokens() - 1);
        for (int32_t k = 0; k < max_blocks; ++k)
            b.block_tables.push_back(k < static_cast<int32_t>(q.blocks.size()) ? q.blocks[static_cast<size_t>(k)] : 0);
    }
    return b;
}

}  // namespace actorlm::test

// vision_ops: see the header. Attention gathers one head's Q, K and Vᵀ of a segment into
// contiguous buffers so that Q Kᵀ and P V are plain f32 matmuls (a nested pool call from a
// job runs inline on that job's thread); the softmax is float32 with the row maximum
// subtracted, as torch's eager path computes it.
#include "multimodal/vision_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/activation.hpp"
#include "cpu/gelu.hpp"
#include "cpu/layernorm.hpp"
#include "cpu/matmul.hpp"
#include "cpu/rmsnorm.hpp"

namespace actorlm::multimodal::vision_ops {

namespace {

tensor f32_matrix(const float* data, int64_t rows, int64_t cols) {
    tensor t;
    t.type = dtype::f32;
    t.shape = {rows, cols};
    t.data = data;
    t.num_bytes = static_cast<size_t>(rows * cols) * sizeof(float);
    return t;
}

}  // namespace

void linear(const vision_linear& l, const float* x, int64_t rows, float* y,
            cpu::thread_pool& pool) {
    cpu::matmul(l.weight, x, rows, y, pool);
    if (l.bias.empty()) return;
    const int64_t n = l.weight.rows();
    const float* b = l.bias.data();
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t c = 0; c < n; ++c) y[r * n + c] += b[c];
    });
}

void layernorm_rows(const vision_norm& norm, const float* x, float* y, int64_t rows, int64_t d,
                    double eps, cpu::thread_pool& pool) {
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            cpu::layernorm(x + r * d, norm.weight.data(), norm.bias.data(), y + r * d, d,
                           static_cast<float>(eps));
    });
}

void rmsnorm_rows(const std::vector<float>& weight, float* x, int64_t rows, int64_t d,
                  double eps, cpu::thread_pool& pool) {
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            cpu::rmsnorm(x + r * d, weight.data(), x + r * d, d, static_cast<float>(eps));
    });
}

void activation_rows(vision_activation act, float* x, int64_t rows, int64_t width,
                     cpu::thread_pool& pool) {
    pool.parallel_for(rows, [&](int64_t r0, int64_t r1) {
        float* p = x + r0 * width;
        const int64_t n = (r1 - r0) * width;
        switch (act) {
            case vision_activation::gelu_erf: cpu::gelu_erf(p, n); break;
            case vision_activation::gelu_tanh: cpu::gelu_tanh(p, n); break;
            case vision_activation::quick_gelu: cpu::quick_gelu(p, n); break;
        }
    });
}

void add(float* x, const float* y, int64_t n, cpu::thread_pool& pool) {
    pool.parallel_for(n, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) x[i] += y[i];
    });
}

void segment_attention(const float* q, const float* k, const float* v, int64_t stride,
                       float* out, const std::vector<attention_segment>& segments,
                       int64_t heads, int64_t head_dim, cpu::thread_pool& pool) {
    const int64_t d = heads * head_dim;
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
    const auto num_jobs = static_cast<int64_t>(segments.size()) * heads;
    pool.parallel_for(num_jobs, [&](int64_t j0, int64_t j1) {
        std::vector<float> qh, kh, vt, scores, oh;
        for (int64_t j = j0; j < j1; ++j) {
            const attention_segment& seg = segments[static_cast<size_t>(j / heads)];
            const int64_t h = j % heads, n = seg.length;
            if (n == 0) continue;
            qh.resize(n * head_dim);
            kh.resize(n * head_dim);
            vt.resize(head_dim * n);
            scores.resize(n * n);
            oh.resize(n * head_dim);
            for (int64_t t = 0; t < n; ++t) {
                const int64_t at = (seg.begin + t) * stride + h * head_dim;
                std::memcpy(&qh[t * head_dim], q + at, head_dim * sizeof(float));
                std::memcpy(&kh[t * head_dim], k + at, head_dim * sizeof(float));
                for (int64_t c = 0; c < head_dim; ++c) vt[c * n + t] = v[at + c];
            }
            // scores[t][r] = q_t . k_r
            cpu::matmul(f32_matrix(kh.data(), n, head_dim), qh.data(), n, scores.data(), pool);
            for (int64_t t = 0; t < n; ++t) {
                float* row = &scores[t * n];
                float mx = -INFINITY;
                for (int64_t r = 0; r < n; ++r) mx = std::max(mx, row[r] * scale);
                float sum = 0.0f;
                for (int64_t r = 0; r < n; ++r) {
                    row[r] = std::exp(row[r] * scale - mx);
                    sum += row[r];
                }
                const float inv = 1.0f / sum;
                for (int64_t r = 0; r < n; ++r) row[r] *= inv;
            }
            cpu::matmul(f32_matrix(vt.data(), head_dim, n), scores.data(), n, oh.data(), pool);
            for (int64_t t = 0; t < n; ++t)
                std::memcpy(out + (seg.begin + t) * d + h * head_dim, &oh[t * head_dim],
                            head_dim * sizeof(float));
        }
    });
}

}  // namespace actorlm::multimodal::vision_ops

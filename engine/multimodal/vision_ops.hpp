// vision_ops: the row-wise building blocks the vision towers share, each spread over the
// thread pool: a biased linear layer on any weight dtype, LayerNorm / RMSNorm rows, the
// element-wise activations, residual adds, and full (non-causal) attention within segments
// of the token rows (one image, or one Qwen2.5-VL window). Stateless; buffers are the
// caller's except attention's per-job scratch.
#pragma once

#include <cstdint>
#include <vector>

#include "cpu/thread_pool.hpp"
#include "multimodal/vision_config.hpp"
#include "multimodal/vision_weights.hpp"

namespace actorlm::multimodal::vision_ops {

/// y = x Wᵀ + b for `rows` rows of x (b skipped when the layer has none). y must not alias x.
void linear(const vision_linear& l, const float* x, int64_t rows, float* y,
            cpu::thread_pool& pool);

/// LayerNorm of `rows` rows of width d; y may equal x.
void layernorm_rows(const vision_norm& norm, const float* x, float* y, int64_t rows, int64_t d,
                    double eps, cpu::thread_pool& pool);

/// RMSNorm (x / sqrt(mean(x^2) + eps) * weight) of `rows` rows of width d, in place.
void rmsnorm_rows(const std::vector<float>& weight, float* x, int64_t rows, int64_t d,
                  double eps, cpu::thread_pool& pool);

/// `act` on `rows` rows of `width` values, in place.
void activation_rows(vision_activation act, float* x, int64_t rows, int64_t width,
                     cpu::thread_pool& pool);

/// x[i] += y[i] for i < n.
void add(float* x, const float* y, int64_t n, cpu::thread_pool& pool);

/// Rows [begin, begin + length) that attend to each other and to nothing else.
struct attention_segment {
    int64_t begin = 0;
    int64_t length = 0;
};

/// Full attention within each segment: out = softmax(q kᵀ * head_dim^-0.5) v per head, for
/// q, k, v rows at q + r * stride (heads * head_dim values each, head-major), out rows of
/// heads * head_dim. One pool job per (segment, head); its products run as matmuls there.
void segment_attention(const float* q, const float* k, const float* v, int64_t stride,
                       float* out, const std::vector<attention_segment>& segments,
                       int64_t heads, int64_t head_dim, cpu::thread_pool& pool);

}  // namespace actorlm::multimodal::vision_ops

// model_weights: typed views of every tensor a forward pass needs, plus the
// storage (memory maps, converted buffers) that keeps those views valid.
// Matrices are row-major {out_features, in_features} as in PyTorch; a row of a
// quantized matrix is a sequence of ggml blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/dtype.hpp"
#include "model/model_config.hpp"

namespace actorlm {

/// How a matrix's bytes are arranged: ggml's rows of blocks (as in the file), or
/// a backend's repacked form that only its matmul reads (cpu/weight_panels.hpp).
enum class weight_layout : uint8_t { rows, panels };

struct tensor {
    std::string name;
    dtype type = dtype::f32;
    std::vector<int64_t> shape;  // outermost first; empty when the tensor is absent
    const void* data = nullptr;
    size_t num_bytes = 0;
    weight_layout layout = weight_layout::rows;

    bool present() const { return data != nullptr; }
    int64_t rows() const { return shape.size() < 2 ? 1 : shape[0]; }
    int64_t cols() const { return shape.empty() ? 0 : shape.back(); }
    int64_t num_elements() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return shape.empty() ? 0 : n;
    }
};

struct layer_weights {
    tensor attn_norm;            // {hidden}
    tensor wq, wk, wv, wo;       // {heads*head_dim, hidden}, {kv*hd, hidden} x2, {hidden, heads*hd}
    tensor bq, bk, bv;           // biases, present only when config.recipe.qkv_bias
    tensor q_norm, k_norm;       // {head_dim}, present only when config.recipe.qk_norm
    tensor ffn_norm;             // {hidden}
    tensor post_attn_norm;       // {hidden}, only when config.recipe.post_attention_norm
    tensor post_ffn_norm;        // {hidden}, only when config.recipe.post_ffn_norm
    tensor w_gate, w_up, w_down; // {ffn, hidden} x2, {hidden, ffn}
};

struct model_weights {
    tensor token_embedding;  // {vocab, hidden}
    tensor output_norm;      // {hidden}
    tensor lm_head;          // {vocab, hidden}; same data as token_embedding when tied
    std::vector<layer_weights> layers;
    // Keeps the mapped files / owned buffers that the views above point into.
    std::vector<std::shared_ptr<void>> storage;
};

}  // namespace actorlm

// model_weights: typed views of every tensor a forward pass needs, plus the
// storage (memory maps, converted buffers) that keeps those views valid.
// Matrices are row-major {out_features, in_features} as in PyTorch; a row of a
// quantized matrix is a sequence of ggml blocks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/tensor.hpp"
#include "model/model_config.hpp"

namespace actorlm {

struct layer_weights {
    tensor attn_norm;       // {hidden}
    tensor wq, wk, wv, wo;  // {heads*head_dim, hidden}, {kv*hd, hidden} x2, {hidden, heads*hd}
    tensor bq, bk, bv;      // biases, present only when config.recipe.qkv_bias
    tensor q_norm, k_norm;  // {head_dim}, present only when config.recipe.qk_norm
    tensor ffn_norm;        // {hidden}
    tensor post_attn_norm;  // {hidden}, only when config.recipe.post_attention_norm
    tensor post_ffn_norm;   // {hidden}, only when config.recipe.post_ffn_norm
    tensor w_gate, w_up, w_down;  // {ffn, hidden} x2, {hidden, ffn}
    // recipe.linear_bias: attention output {hidden}, FFN up {ffn} and down {hidden} biases.
    tensor bo, b_up, b_down;
    // recipe.norm == layer: the LayerNorm biases of attn_norm and ffn_norm, {hidden}.
    tensor attn_norm_bias, ffn_norm_bias;
    // A sparse layer (layer_is_moe) instead of w_gate/w_up/w_down: the router {experts,
    // hidden} and one view per expert of its gate and up {expert_ffn, hidden} and down
    // {hidden, expert_ffn} matrices (slices of the mapped file; expert_binding.hpp).
    tensor ffn_gate_inp;
    std::vector<tensor> expert_gate, expert_up, expert_down;
};

struct model_weights {
    tensor token_embedding;  // {vocab, hidden}
    tensor output_norm;      // {hidden}
    tensor lm_head;          // {vocab, hidden}; same data as token_embedding when tied
    // recipe.positions == absolute: learned positions {max_position, hidden}, token types
    // {types, hidden} (type 0 is added), and the LayerNorm of the summed embeddings.
    tensor position_embedding, token_type_embedding, embedding_norm, embedding_norm_bias;
    std::vector<layer_weights> layers;
    // Keeps the mapped files / owned buffers that the views above point into.
    std::vector<std::shared_ptr<void>> storage;
};

}  // namespace actorlm

// weight_binding: turns a file format's named tensors into model_weights and
// checks them against model_config (presence, shape, dtype). Format loaders
// (GGUF, safetensors) supply a name scheme and a lookup; everything else is shared.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "model/expert_binding.hpp"
#include "model/model_config.hpp"
#include "model/model_weights.hpp"
#include "base/result.hpp"

namespace actorlm {

/// Tensors of one transformer block, in the order bind_weights asks for them.
enum class weight_role {
    attn_norm,
    wq,
    wk,
    wv,
    wo,
    bq,
    bk,
    bv,
    q_norm,
    k_norm,
    ffn_norm,
    post_attn_norm,
    post_ffn_norm,
    w_gate,
    w_up,
    w_down,
    bo,
    b_up,
    b_down,
    attn_norm_bias,
    ffn_norm_bias,
};

/// Every role, in binding and writing order.
inline constexpr weight_role all_weight_roles[] = {
    weight_role::attn_norm,
    weight_role::wq,
    weight_role::wk,
    weight_role::wv,
    weight_role::wo,
    weight_role::bq,
    weight_role::bk,
    weight_role::bv,
    weight_role::q_norm,
    weight_role::k_norm,
    weight_role::ffn_norm,
    weight_role::post_attn_norm,
    weight_role::post_ffn_norm,
    weight_role::w_gate,
    weight_role::w_up,
    weight_role::w_down,
    weight_role::bo,
    weight_role::b_up,
    weight_role::b_down,
    weight_role::attn_norm_bias,
    weight_role::ffn_norm_bias,
};

/// Whether `config` has a tensor for role `r` (biases, Q/K norms and post-norms follow
/// config.recipe).
bool role_used(const model_config& config, weight_role r);
/// role_used, and for the dense FFN's matrices: layer `layer` is not sparse (layer_is_moe).
bool layer_role_used(const model_config& config, int64_t layer, weight_role r);

/// The tensor of role `r` in layer `l`.
const tensor& layer_tensor(const layer_weights& l, weight_role r);
tensor& layer_tensor(layer_weights& l, weight_role r);

/// How a format names its tensors.
struct weight_names {
    std::string token_embedding, output_norm, lm_head;
    // recipe.positions == absolute only.
    std::string position_embedding, token_type_embedding, embedding_norm, embedding_norm_bias;
    std::function<std::string(int64_t layer, weight_role role)> layer;
    // The router and experts of a sparse layer (layer_is_moe).
    expert_names experts;
};

/// GGUF names (token_embd.weight, blk.N.attn_q.weight, ...) of architecture `arch`.
weight_names gguf_weight_names(model_arch arch);
/// Hugging Face names (model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight,
/// ...) of architecture `arch`.
weight_names hf_weight_names(model_arch arch);

/// A format's lookup: the view of `name` (type already mapped to a dtype), a view with
/// data == nullptr when absent, or an error when the tensor exists with an unsupported type.
using tensor_lookup = std::function<result<tensor>(const std::string& name)>;

/// Binds every tensor `config` needs: errors name a missing tensor, an unsupported dtype or a
/// shape that disagrees with the config. 1-D tensors (norms, biases) are converted to F32
/// buffers owned by the returned weights' storage; matrices stay views into the files.
/// When config.tie_word_embeddings, lm_head views token_embedding's data.
result<model_weights> bind_weights(const model_config& config, const weight_names& names,
                                   const tensor_lookup& lookup);

/// The one weight validator (loaders, writers and both backends run it): every tensor the
/// recipe needs in layers [first_layer, last_layer) (-1 = all) is present, has the config's
/// shape ({n} or {1, n} for vectors), whole quantization blocks per row and at least the
/// bytes its shape needs; vectors are F32, F16 or BF16. The embedding is checked on a first
/// stage, the output norm and lm head (the embedding when tied or absent) on a last stage.
status validate_weights(const model_config& config, const model_weights& w, int64_t first_layer = 0,
                        int64_t last_layer = -1);

}  // namespace actorlm

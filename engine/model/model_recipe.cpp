// Feature masks of a model_recipe and the creation-time refusal of the features a
// backend lacks. Pure functions; any thread.
// Invariant: every recipe_feature bit has a name and is reported by recipe_features.
#include "model/model_recipe.hpp"

#include <cmath>
#include <string>

namespace actorlm {

uint32_t recipe_features(const model_recipe& r) {
    uint32_t f = 0;
    if (r.qkv_bias) f |= recipe_qkv_bias;
    if (r.qk_norm) f |= recipe_qk_norm;
    if (r.norm_weight == norm_weight_kind::one_plus) f |= recipe_norm_one_plus;
    if (r.activation == ffn_activation::gelu_tanh) f |= recipe_gelu_tanh;
    if (r.post_attention_norm) f |= recipe_post_attention_norm;
    if (r.post_ffn_norm) f |= recipe_post_ffn_norm;
    if (r.embedding_scale != 1.0f) f |= recipe_embedding_scale;
    if (r.attention_scale != 0.0f) f |= recipe_attention_scale;
    if (r.attention_softcap != 0.0f) f |= recipe_attention_softcap;
    if (r.final_logit_softcap != 0.0f) f |= recipe_final_logit_softcap;
    if (r.norm == norm_kind::layer) f |= recipe_layer_norm;
    if (r.placement == norm_placement::post) f |= recipe_post_norm;
    if (r.positions == position_kind::absolute) f |= recipe_absolute_positions;
    if (!r.gated_ffn) f |= recipe_plain_ffn;
    if (r.activation == ffn_activation::gelu_erf) f |= recipe_gelu_erf;
    if (r.linear_bias) f |= recipe_linear_bias;
    if (!r.causal) f |= recipe_non_causal;
    if (r.mixture_of_experts) f |= recipe_mixture_of_experts;
    return f;
}

const char* recipe_feature_name(recipe_feature f) {
    switch (f) {
        case recipe_qkv_bias: return "Q/K/V biases";
        case recipe_qk_norm: return "Q/K RMSNorm";
        case recipe_norm_one_plus: return "(1 + w) RMSNorm weights";
        case recipe_gelu_tanh: return "GeGLU (gelu-tanh) FFN";
        case recipe_post_attention_norm: return "post-attention norm";
        case recipe_post_ffn_norm: return "post-FFN norm";
        case recipe_embedding_scale: return "embedding scale";
        case recipe_attention_scale: return "custom attention scale";
        case recipe_attention_softcap: return "attention logit soft-capping";
        case recipe_final_logit_softcap: return "final logit soft-capping";
        case recipe_layer_norm: return "LayerNorm";
        case recipe_post_norm: return "post-norm layers";
        case recipe_absolute_positions: return "absolute position embeddings";
        case recipe_plain_ffn: return "ungated FFN";
        case recipe_gelu_erf: return "GELU (erf) FFN";
        case recipe_linear_bias: return "output and FFN biases";
        case recipe_non_causal: return "bidirectional (encoder) attention";
        case recipe_mixture_of_experts: return "mixture-of-experts FFN";
    }
    return "?";
}

status require_recipe_features(const model_recipe& r, uint32_t supported, const char* backend) {
    const uint32_t missing = recipe_features(r) & ~supported;
    if (missing == 0) return {};
    std::string names;
    for (uint32_t bit = 1; bit != 0 && bit <= missing; bit <<= 1)
        if (missing & bit) {
            if (!names.empty()) names += ", ";
            names += recipe_feature_name(static_cast<recipe_feature>(bit));
        }
    return make_error("%s does not implement %s, which this model needs", backend, names.c_str());
}

float attention_score_scale(const model_recipe& r, int64_t head_dim) {
    if (r.attention_scale != 0.0f) return r.attention_scale;
    return 1.0f / std::sqrt(static_cast<float>(head_dim));
}

}  // namespace actorlm

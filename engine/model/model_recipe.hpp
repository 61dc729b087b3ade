// model_recipe: what every layer of a dense model computes (norm form and placement, gated
// or plain FFN and its activation, biases, Q/K norm, post-norms, scales, soft-caps, RoPE or
// absolute positions, causal or bidirectional attention), independent of the file
// format and of the architecture's name. Executors and the test reference read only the
// recipe plus model_config's sizes, RoPE and window fields, never model_arch. Plain data;
// any thread. Invariant: a backend refuses at creation every feature it lacks
// (require_recipe_features), so an unsupported recipe never runs with wrong math.
#pragma once

#include <cstdint>

#include "base/result.hpp"

namespace actorlm {

/// How a norm applies its weight: y = x / rms(x) * w (Llama), or * (1 + w) (Gemma's
/// checkpoints store w - 1).
enum class norm_weight_kind : uint8_t { plain, one_plus };

/// The gated FFN activation: down(act(gate(x)) * up(x)). silu = SwiGLU (Llama),
/// gelu_tanh = GeGLU with the tanh approximation (Gemma).
/// gelu_erf: transformers' exact "gelu", ungated (BERT: down(gelu(up(x)))).
enum class ffn_activation : uint8_t { silu, gelu_tanh, gelu_erf };

/// rms: RMSNorm with a weight (Llama); layer: LayerNorm with a weight and a bias (BERT).
enum class norm_kind : uint8_t { rms, layer };

/// pre: x + f(norm(x)) (Llama); post: norm(x + f(x)) (BERT: attn_norm follows the attention
/// residual, ffn_norm the FFN residual, and the embeddings are normed before the first layer).
enum class norm_placement : uint8_t { pre, post };

/// rope: rotary Q/K; absolute: learned position embeddings (plus token type 0) added to the
/// token embedding, no rotation (BERT).
enum class position_kind : uint8_t { rope, absolute };

struct model_recipe {
    norm_weight_kind norm_weight = norm_weight_kind::plain;  // every RMSNorm of the model
    ffn_activation activation = ffn_activation::silu;
    bool qkv_bias = false;             // Q/K/V projection biases (Qwen2)
    bool qk_norm = false;              // per-head RMSNorm on Q and K before RoPE (Qwen3)
    bool post_attention_norm = false;  // RMSNorm on the attention output before the residual add
    bool post_ffn_norm = false;        // RMSNorm on the FFN output before the residual add
    float embedding_scale = 1.0f;      // embedded rows are multiplied by this (Gemma: sqrt(hidden))
    float attention_scale = 0.0f;      // scores = q.k * scale; 0: 1 / sqrt(head_dim)
    float attention_softcap = 0.0f;    // > 0: scores = cap * tanh(scores / cap)
    float final_logit_softcap = 0.0f;  // > 0: logits = cap * tanh(logits / cap)
    norm_kind norm = norm_kind::rms;   // every norm of the model
    norm_placement placement = norm_placement::pre;
    position_kind positions = position_kind::rope;
    bool gated_ffn = true;    // down(act(gate(x)) * up(x)); false: down(act(up(x)))
    bool linear_bias = false; // attention output, FFN up and down biases (BERT)
    /// false: bidirectional attention over the whole sequence, an encoder (BERT). Such a
    /// model has no lm head and no final norm: it only embeds (scheduler: one step per prompt,
    /// no prefix cache; generation requests are refused).
    bool causal = true;
    /// Sparse layers run a routed mixture of experts (model_config::moe) instead of the
    /// dense FFN.
    bool mixture_of_experts = false;
};

/// One recipe feature beyond the plain Llama layer, as a bit of a backend's support mask.
enum recipe_feature : uint32_t {
    recipe_qkv_bias = 1u << 0,
    recipe_qk_norm = 1u << 1,
    recipe_norm_one_plus = 1u << 2,
    recipe_gelu_tanh = 1u << 3,
    recipe_post_attention_norm = 1u << 4,
    recipe_post_ffn_norm = 1u << 5,
    recipe_embedding_scale = 1u << 6,
    recipe_attention_scale = 1u << 7,
    recipe_attention_softcap = 1u << 8,
    recipe_final_logit_softcap = 1u << 9,
    recipe_layer_norm = 1u << 10,
    recipe_post_norm = 1u << 11,
    recipe_absolute_positions = 1u << 12,
    recipe_plain_ffn = 1u << 13,
    recipe_gelu_erf = 1u << 14,
    recipe_linear_bias = 1u << 15,
    recipe_non_causal = 1u << 16,
    recipe_mixture_of_experts = 1u << 17,
};

/// The features `r` asks for, as a mask of recipe_feature bits.
uint32_t recipe_features(const model_recipe& r);

/// A readable name of one feature bit ("attention logit soft-capping", ...).
const char* recipe_feature_name(recipe_feature f);

/// Fails, naming every feature of `r` outside `supported`, with "<backend> does not
/// implement ..."; succeeds when the backend covers the recipe.
status require_recipe_features(const model_recipe& r, uint32_t supported, const char* backend);

/// The attention score scale of `r` for heads of `head_dim`.
float attention_score_scale(const model_recipe& r, int64_t head_dim);

}  // namespace actorlm

// vision_config: the description of a vision-language checkpoint's image side (vision tower
// plus projector / connector), read from its config.json with the transformers config classes'
// defaults: LLaVA-1.5 (CLIP ViT + MLP projector), Idefics3 / SmolVLM (SigLIP + pixel-shuffle
// connector) and Qwen2.5-VL (window-attention ViT + patch merger). Errors name the key and carry error_kind::invalid_argument. Pure functions; any
// thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace actorlm::multimodal {

/// Which tower and projector a checkpoint has.
enum class vision_family {
    clip_llava,       ///< CLIP ViT (class token, pre-layernorm), LLaVA's linear-act-linear projector
    siglip_idefics3,  ///< SigLIP (patch bias, no class token, post-layernorm), Idefics3 connector
    qwen2_5_vl,       ///< Qwen2.5-VL: 2-D rotary, window attention, RMSNorm, SwiGLU, patch merger
};

/// Element-wise activations of the encoder MLP and the projector (transformers' ACT2FN names:
/// "gelu"; "gelu_pytorch_tanh", "gelu_new", "gelu_fast"; "quick_gelu").
enum class vision_activation { gelu_erf, gelu_tanh, quick_gelu };

/// The ViT encoder shared by both families (CLIPVisionConfig / Idefics3VisionConfig fields).
struct vision_encoder_config {
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t num_layers = 0;
    int64_t num_heads = 0;
    int64_t num_channels = 3;
    int64_t image_size = 0;  ///< the side the position embeddings were trained for
    int64_t patch_size = 0;
    double layer_norm_eps = 1e-5;
    vision_activation hidden_act = vision_activation::quick_gelu;

    int64_t head_dim() const { return hidden_size / num_heads; }
    /// Patches per side at image_size.
    int64_t patches_per_side() const { return image_size / patch_size; }
};

struct vision_tower_config {
    vision_family family = vision_family::clip_llava;
    std::string model_type;  ///< config.json's model_type
    vision_encoder_config encoder;

    // -- LLaVA ------------------------------------------------------------------------------
    /// Encoder hidden states fed to the projector, concatenated along the feature axis, as
    /// indexes into transformers' hidden_states tuple (0 = the embeddings after
    /// pre_layrnorm, k = the output of layer k), already resolved from negative values.
    std::vector<int64_t> feature_layers;
    /// vision_feature_select_strategy "default": the class token's row is dropped.
    bool drop_class_token = true;
    vision_activation projector_act = vision_activation::gelu_erf;
    bool projector_bias = true;

    // -- Idefics3 ---------------------------------------------------------------------------
    /// Pixel shuffle factor: scale_factor x scale_factor patches become one token.
    int64_t scale_factor = 2;

    // -- Qwen2.5-VL (encoder.num_layers = depth; image_size unused: any grid) --------------
    /// spatial_merge_size x spatial_merge_size patches become one output token.
    int64_t spatial_merge_size = 2;
    int64_t temporal_patch_size = 2;
    /// Attention windows are window_size pixels square (window_size / merge / patch units).
    int64_t window_size = 112;
    /// Blocks that attend over the whole image instead of their window.
    std::vector<int64_t> fullatt_block_indexes;
};

/// Parses config.json text. Errors: a model_type without a vision tower we run, a sub-config
/// of another vision model type, a size that is missing / not a positive integer, hidden size
/// not a multiple of the head count, an unknown activation, a feature layer out of range.
result<vision_tower_config> parse_vision_tower_config(std::string_view config_json);

/// Reads and parses `dir`/config.json.
result<vision_tower_config> read_vision_tower_config(const std::string& dir);

/// "gelu" -> gelu_erf, "gelu_pytorch_tanh" / "gelu_new" / "gelu_fast" -> gelu_tanh, "quick_gelu";
/// an error
/// naming `key` otherwise.
result<vision_activation> parse_vision_activation(std::string_view name, const char* key);

/// Whether the encoder's sizes divide (hidden by heads, image by patch); errors name the
/// four keys as the source spells them (config.json or an mmproj file).
status check_encoder_sizes(const vision_encoder_config& e, const char* hidden_key,
                           const char* heads_key, const char* image_key, const char* patch_key);

}  // namespace actorlm::multimodal

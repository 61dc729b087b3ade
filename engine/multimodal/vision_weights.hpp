// vision_weights: the tensors of a checkpoint's vision tower and projector / connector, found
// in its safetensors files under the names transformers writes (5.x's save_pretrained:
// `vision_tower.*` + `multi_modal_projector.*` for LLaVA, `model.vision_model.*` +
// `model.connector.*` for Idefics3; 4.x's `vision_tower.vision_model.*` and the `model.`-prefixed
// forms are accepted too). Matrices stay zero-copy views of the maps in their stored dtype
// (F32/F16/BF16); vectors (norms, biases, embeddings) are converted to float32. Immutable after
// loading; safe to share across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/tensor.hpp"
#include "multimodal/vision_config.hpp"

namespace actorlm::multimodal {

/// A LayerNorm's weight and bias, float32.
struct vision_norm {
    std::vector<float> weight;
    std::vector<float> bias;
};

/// nn.Linear: a {out, in} matrix view and its float32 bias (empty when the layer has none).
struct vision_linear {
    tensor weight;
    std::vector<float> bias;
};

/// One encoder layer (CLIPEncoderLayer / Idefics3EncoderLayer: pre-norm attention and MLP).
struct vision_layer_weights {
    vision_norm norm1, norm2;
    vision_linear q, k, v, out;
    vision_linear fc1, fc2;
};

/// One Qwen2.5-VL vision block: RMSNorms, fused QKV (rows q, k, v), proj, SwiGLU MLP.
struct qwen_block_weights {
    std::vector<float> norm1, norm2;
    vision_linear qkv, proj;
    vision_linear gate, up, down;
};

struct vision_tower_weights {
    /// Conv2d weight {hidden, channels, p, p} viewed as the {hidden, channels * p * p} matrix
    /// that multiplies unfolded patches (channel-major, then row, then column).
    vision_linear patch_embedding;
    std::vector<float> class_embedding;     ///< CLIP: [hidden]
    std::vector<float> position_embedding;  ///< [num_positions, hidden]
    vision_norm pre_norm;                   ///< CLIP's pre_layrnorm
    vision_norm post_norm;                  ///< SigLIP's post_layernorm
    /// Layers 0 .. n-1 with n the last layer whose output is used (LLaVA reads layer -2: the
    /// last layer is not loaded).
    std::vector<vision_layer_weights> layers;
    vision_linear projector_1, projector_2;  ///< LLaVA's linear_1 / linear_2
    vision_linear connector;                 ///< Idefics3's modality_projection (no bias)
    /// Qwen2.5-VL: the blocks, the merger's RMSNorm and its two linears (GELU between).
    std::vector<qwen_block_weights> qwen_blocks;
    std::vector<float> merger_norm;
    vision_linear merger_1, merger_2;
    /// The memory maps the matrix views point into.
    std::vector<std::shared_ptr<void>> storage;
};

/// A vision tower ready to run: its description and weights.
struct vision_model {
    vision_tower_config config;
    vision_tower_weights weights;
    /// Width of one output feature row (the language model's hidden size).
    int64_t output_dim = 0;
    std::string dir;
};

/// Reads `dir`/config.json and the tower's tensors from model.safetensors or the shards of
/// model.safetensors.index.json. Errors (error_kind::invalid_argument) name the missing tensor,
/// a tensor whose shape disagrees with the config, or a dtype other than F32/F16/BF16.
result<vision_model> load_vision_model(const std::string& dir);

/// A digest of a tower: the config fields that shape its output and a sample of every
/// weight (content_digest::tensor_sample; float vectors whole). Part of every image's
/// mm_hash, so engines that share an encoder store never take another model's features
/// for a picture (vLLM puts the model id in its multimodal hash for the same reason).
std::string vision_model_fingerprint(const vision_model& m);

}  // namespace actorlm::multimodal

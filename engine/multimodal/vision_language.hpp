// vision_language: the image side of a vision-language checkpoint as the engine serves it —
// the tower's weights, the processor settings, the token whose prompt positions receive
// the encoder's rows, and the key that ties a processed input to those settings (part of
// every mm_hash). Loaded once beside the text model; immutable and shared after that by
// the frontend (preprocessing) and the workers (encoding). Pure data plus its loader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "multimodal/image_processor_config.hpp"
#include "model/model_config.hpp"
#include "multimodal/vision_weights.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm::multimodal {

struct vision_language_model {
    std::shared_ptr<const vision_model> tower;
    image_processor_config processor;
    /// config.json's image_token_index (LLaVA) or image_token_id (Idefics3, Qwen2.5-VL): the
    /// positions holding it receive the image's feature rows, in order.
    int32_t image_token_id = -1;
    /// What shaped a processed input besides its bytes: the processor's family and its two
    /// config files as written. Two models with equal keys process a picture identically.
    std::string processor_key;
};

/// Whether `dir`/config.json describes a checkpoint with a vision tower we run (its
/// model_type is llava, idefics3, smolvlm or qwen2_5_vl). False for text models and for files.
bool is_vision_language_dir(const std::string& dir);

/// Loads the tower, the processor settings and the image token of a vision-language
/// directory. Errors name the file and the problem (a missing preprocessor_config.json,
/// a missing image token id, a Qwen2.5-VL processor whose merge_size differs from the
/// tower's spatial_merge_size, the tower's own errors).
result<std::shared_ptr<const vision_language_model>> load_vision_language(const std::string& dir);

/// The image side of a GGUF text model from llama.cpp's mmproj file (llama-server's
/// --mmproj): the tower, the processor its projector type implies
/// (read_mmproj_processor_config) and the image token's id in the text model's vocabulary.
/// Errors name the file and the problem: the mmproj's own, a vocabulary without the
/// family's image token, a tower whose output width differs from the text model's hidden
/// size, a Qwen2.5-VL tower beside a text model without M-RoPE.
result<std::shared_ptr<const vision_language_model>> load_vision_language_from_mmproj(
    const std::string& mmproj_path, const tokenizer& text_tokenizer, const model_config& text);

}  // namespace actorlm::multimodal

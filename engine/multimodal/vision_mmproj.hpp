// vision_mmproj: a vision tower from llama.cpp's `mmproj` GGUF (general.architecture "clip"),
// the file llama-server takes with --mmproj next to a GGUF text model. Reads llama.cpp's
// `clip.*` hyperparameters and `v.*` / `mm.*` tensors into the same vision_model the
// safetensors loader builds, so vision_tower runs it unchanged. Pure functions; any thread.
// The returned model's matrix views keep the file's memory map alive.
#pragma once

#include <array>
#include <string>

#include "base/result.hpp"
#include "multimodal/image_processor_config.hpp"
#include "multimodal/vision_weights.hpp"

namespace actorlm::multimodal {

/// Loads the vision tower and projector of an mmproj GGUF. clip.projector_type picks the
/// family: "mlp" (LLaVA-1.5 from llama.cpp's legacy CLIP converter: layers already cut after the
/// one LLaVA reads, ffn_up/ffn_down named the other way round), "idefics3" (Idefics3 / SmolVLM)
/// and "qwen2.5vl_merger" (Qwen2.5-VL; window_size from clip.vision.window_size, else llama.cpp's
/// fixed 112). Errors (error_kind::invalid_argument) name the file and the problem: not an
/// mmproj file, a projector type not supported (naming it), a missing or bad key, a missing
/// tensor, a shape the hyperparameters disagree with, a dtype other than F32/F16/BF16 or the
/// quantized Q8_0/Q4_0/Q5_0 (matrices stay quantized; vectors and a quantized patch
/// embedding are decoded to float32).
result<vision_model> load_vision_model_from_mmproj(const std::string& path);

/// The normalization an mmproj file records (clip.vision.image_mean / image_std), which its
/// image preprocessing must use. Errors name a missing or malformed key.
struct mmproj_image_norm {
    std::array<float, 3> mean{};
    std::array<float, 3> std{};
};
result<mmproj_image_norm> read_mmproj_image_norm(const std::string& path);

/// The image processor an mmproj file implies, with the settings of the transformers class
/// of its family where the file records them and that class's (or the released
/// checkpoints') values where it does not. `tower` is the file's own
/// load_vision_model_from_mmproj() result (sizes, scale and merge factors).
///  - mlp -> CLIPImageProcessor: shortest edge and crop = clip.vision.image_size, bicubic,
///    LlavaProcessor's token count (patches, class token dropped).
///  - idefics3 -> Idefics3ImageProcessor: tiles of clip.vision.image_size, first resize to
///    clip.vision.preproc_image_size (else 4 tiles' width), image_seq_len from the patch
///    grid and scale factor.
///  - qwen2.5vl_merger -> Qwen2VLImageProcessor: the tower's patch and merge sizes,
///    min_pixels 3136 and max_pixels 12845056 (Qwen2.5-VL's preprocessor_config.json).
/// Mean and std come from clip.vision.image_mean / image_std.
result<image_processor_config> read_mmproj_processor_config(const std::string& path,
                                                            const vision_model& tower);

}  // namespace actorlm::multimodal

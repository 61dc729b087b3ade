// image_processor_config: the preprocessing settings of an HF vision-language model, read from
// its preprocessor_config.json (and processor_config.json, where LlavaProcessor and
// Idefics3Processor keep the prompt-side fields) into one typed struct per processor family.
// Defaults are those of the transformers classes when a key is absent; a present key of the
// wrong type or value is an error naming the file and the key. Pure functions; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "base/result.hpp"
#include "multimodal/pil_resample.hpp"

namespace actorlm::multimodal {

/// Rescale then normalize, as BaseImageProcessor.rescale / normalize do: a uint8 value v
/// becomes float32(v * rescale_factor) (the product in double), then (x - mean[c]) / std[c]
/// in float32.
struct pixel_normalization {
    bool do_rescale = true;
    double rescale_factor = 1.0 / 255.0;
    bool do_normalize = true;
    std::array<double, 3> mean{};  ///< as written in the JSON (cast to float32 when applied)
    std::array<double, 3> std{};
};

/// CLIPImageProcessor (LLaVA-1.5) and LlavaImageProcessor (the same plus pad-to-square), with
/// LlavaProcessor's prompt fields.
struct clip_image_config {
    bool do_resize = true;
    /// Resize target: the shortest edge (> 0) keeping the aspect ratio, or else height x width.
    int shortest_edge = 224;
    int resize_height = 0;
    int resize_width = 0;
    resample_filter resample = resample_filter::bicubic;
    bool do_center_crop = true;
    int crop_height = 224;
    int crop_width = 224;
    /// LlavaImageProcessor's do_pad: pad to a square with the mean colour before resizing.
    bool do_pad = false;
    pixel_normalization norm;
    /// LlavaProcessor: tokens = (h / patch_size) * (w / patch_size) + num_additional_image_tokens,
    /// minus one when vision_feature_select_strategy is "default" (the CLS feature dropped;
    /// empty = the key is absent, LlavaProcessor's None: nothing subtracted).
    int patch_size = 0;
    int num_additional_image_tokens = 0;
    std::string vision_feature_select_strategy;
    std::string image_token = "<image>";
};

/// Idefics3ImageProcessor / SmolVLMImageProcessor with Idefics3Processor's prompt fields.
struct idefics3_image_config {
    bool do_resize = true;
    /// size.longest_edge: the first resize scales the longest edge to this.
    int longest_edge = 4 * 364;
    resample_filter resample = resample_filter::lanczos;
    bool do_image_splitting = true;
    /// max_image_size.longest_edge: the tile (and global image) side.
    int max_image_size = 364;
    pixel_normalization norm;
    /// <image> tokens per tile and for the global image.
    int image_seq_len = 169;
    std::string image_token = "<image>";
    std::string fake_image_token = "<fake_token_around_image>";
    std::string global_image_token = "<global-img>";
};

/// Qwen2VLImageProcessor (Qwen2-VL and Qwen2.5-VL) with Qwen2_5_VLProcessor's image token.
struct qwen2_vl_image_config {
    bool do_resize = true;
    int64_t min_pixels = 56 * 56;
    int64_t max_pixels = 28 * 28 * 1280;
    resample_filter resample = resample_filter::bicubic;
    pixel_normalization norm;
    int patch_size = 14;
    int temporal_patch_size = 2;
    int merge_size = 2;
    std::string image_token = "<|image_pad|>";
};

/// One model's processor settings; the alternative is the family.
using image_processor_config =
    std::variant<clip_image_config, idefics3_image_config, qwen2_vl_image_config>;

/// Parses preprocessor_config.json text (required) and processor_config.json text (empty when
/// the model has none). The family comes from "image_processor_type" (CLIPImageProcessor,
/// LlavaImageProcessor, Idefics3ImageProcessor, SmolVLMImageProcessor, Qwen2VLImageProcessor,
/// and their *Fast names). Errors name the file and the key.
result<image_processor_config> parse_image_processor_config(std::string_view preprocessor_json,
                                                            std::string_view processor_json);

/// Reads `dir`/preprocessor_config.json and, when present, `dir`/processor_config.json.
result<image_processor_config> read_image_processor_config(const std::string& dir);

/// The family's transformers class name ("Qwen2VLImageProcessor"), for logs and messages.
const char* image_processor_family_name(const image_processor_config& config);

}  // namespace actorlm::multimodal

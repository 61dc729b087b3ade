// image_processor: a decoded picture -> the pixel values a vision tower reads and the number
// of placeholder tokens its prompt gets, as the HF image processors compute them (CLIP /
// LLaVA-1.5, Idefics3 / SmolVLM, Qwen2-VL / Qwen2.5-VL; resizes through pil_resample). Pure
// functions; any thread. Errors (a picture HF refuses or that resizes to nothing) name the
// problem and carry error_kind::invalid_argument.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "base/result.hpp"
#include "multimodal/image_processor_config.hpp"
#include "multimodal/rgb_image.hpp"

namespace actorlm::multimodal {

/// One image's processor output.
struct processed_image {
    /// float32 values, row-major in `shape`: CLIP {3, H, W}; Idefics3 {tiles + 1, 3, S, S}
    /// (row-major tiles, the global image last); Qwen2-VL {t * h * w, 3 * temporal * p * p}
    /// (patches in merge-window order, each channel-major over temporal, row, column).
    std::vector<float> pixel_values;
    std::vector<int64_t> shape;
    /// Idefics3: the tile grid (0 x 0 when the image is not split).
    int num_rows = 0;
    int num_cols = 0;
    /// Qwen2-VL: image_grid_thw in patches, and the processor's merge_size (merge_size x
    /// merge_size patches become one token: the image's tokens form a grid of
    /// t x h / merge_size x w / merge_size, which M-RoPE's positions follow).
    std::array<int64_t, 3> grid_thw{};
    int64_t merge_size = 1;
    /// Prompt positions that receive this image's embeddings (the image tokens; Idefics3's
    /// row/column and wrapper tokens are text and are not counted).
    int64_t num_image_tokens = 0;
};

/// `image` without its pixel values: what the prompt expansion reads (sizes, tiles, grid,
/// token count), for callers that share the pixels elsewhere. Copies every field but
/// pixel_values: a field added to processed_image is added there too.
processed_image layout_of(const processed_image& image);

/// Runs the configured family's processor on one picture.
result<processed_image> preprocess_image(const image_processor_config& config,
                                         const rgb_image& image);

/// CLIPImageProcessor / LlavaImageProcessor: [pad to square], resize, center crop, normalize.
result<processed_image> preprocess_clip(const clip_image_config& config, const rgb_image& image);

/// Idefics3ImageProcessor: resize the longest edge, resize to tile multiples, split into tiles
/// plus a global image, normalize.
result<processed_image> preprocess_idefics3(const idefics3_image_config& config,
                                            const rgb_image& image);

/// Qwen2VLImageProcessor: smart_resize, resize, normalize, patchify (the image repeated over
/// temporal_patch_size).
result<processed_image> preprocess_qwen2_vl(const qwen2_vl_image_config& config,
                                            const rgb_image& image);

/// Qwen2-VL's smart_resize: {height, width} multiples of `factor` with min_pixels <= h * w <=
/// max_pixels, near the input's aspect ratio; an error when the aspect ratio exceeds 200.
result<std::array<int64_t, 2>> qwen2_vl_smart_resize(int64_t height, int64_t width,
                                                     int64_t factor, int64_t min_pixels,
                                                     int64_t max_pixels);

}  // namespace actorlm::multimodal

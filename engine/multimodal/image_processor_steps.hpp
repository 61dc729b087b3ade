// image_processor_steps: the steps the HF processors share — crop, constant padding and
// rescale + normalize into channel-first float32 — used by the per-family image_processor_*
// files. Pure functions; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "base/result.hpp"
#include "multimodal/image_processor_config.hpp"
#include "multimodal/rgb_image.hpp"

namespace actorlm::multimodal {

/// The rectangle [x, x + width) x [y, y + height) of `image`; it must lie inside.
rgb_image crop_image(const rgb_image& image, int x, int y, int width, int height);

/// `image` placed at (x, y) on a width x height canvas filled with `fill`; the parts of
/// `image` outside the canvas are dropped (numpy slice-assignment semantics).
rgb_image place_on_canvas(const rgb_image& image, int width, int height, int x, int y,
                          std::array<uint8_t, 3> fill);

/// Appends `image` as {3, height, width} float32: float32(v * rescale_factor), then
/// (x - mean) / std in float32, as BaseImageProcessor.rescale and normalize compute them.
void append_normalized_chw(const rgb_image& image, const pixel_normalization& norm,
                           std::vector<float>& out);

/// An error unless width and height are in [1, 2^31): PIL refuses a zero size, and a size
/// that does not fit an int cannot be allocated.
status check_resize_target(int64_t width, int64_t height, const char* step);

}  // namespace actorlm::multimodal

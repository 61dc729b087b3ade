// pil_resample: Pillow's Image.resize for 8-bit RGB, bit for bit — the separable two-pass
// convolution of libImaging/Resample.c (Pillow 13 picks the pass order by the shrink of each
// side), double coefficients rounded to 22-bit fixed point, each pass rounded and clipped to
// uint8. The HF image processors resize through PIL, so matching
// it here is what makes pixel values match theirs. Pure functions; any thread.
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "multimodal/rgb_image.hpp"

namespace actorlm::multimodal {

/// PIL's convolution filters (Image.Resampling); nearest neighbour is not a convolution in
/// PIL and is not offered.
enum class resample_filter { box, bilinear, hamming, bicubic, lanczos };

/// The filter for PIL's integer code (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box,
/// 5 hamming), as preprocessor_config.json's "resample" stores it. Errors name the code.
result<resample_filter> resample_filter_from_pil(int64_t code);

/// Name for messages and docs ("bicubic").
const char* resample_filter_name(resample_filter filter);

/// A rectangle of the resized picture: columns [x, x + width), rows [y, y + height).
struct pixel_window {
    int x = 0;
    int y = 0;
    int width = 0;
    int height = 0;
};

/// `image.resize((out_width, out_height), filter)` as Pillow computes it (a same-size resize
/// is a copy, as in PIL). Both sizes must be >= 1 and the input non-empty; callers check
/// (PIL raises on a zero size, and the processors turn that into an error first).
rgb_image pil_resize(const rgb_image& image, int out_width, int out_height,
                     resample_filter filter);

/// Only `window` of that resized picture, equal to cropping pil_resize's result but computing
/// just the window (a 1x2000 picture resized to 336x672000 then center-cropped costs 336x336).
/// The window must lie inside out_width x out_height.
rgb_image pil_resize_window(const rgb_image& image, int out_width, int out_height,
                            resample_filter filter, pixel_window window);

}  // namespace actorlm::multimodal

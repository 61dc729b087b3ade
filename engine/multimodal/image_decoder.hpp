// image_decoder: encoded image bytes (PNG, JPEG, WebP, GIF) -> rgb_image, converted the
// way PIL's Image.open(...).convert("RGB") converts them (alpha dropped, not composited;
// palettes looked up; 16-bit samples reduced as PIL reduces them; JPEG EXIF orientation
// applied as ImageOps.exif_transpose). The format comes from the magic bytes; the pixel
// limit is checked from the header before any pixel is decoded. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.hpp"
#include "multimodal/rgb_image.hpp"

namespace actorlm::multimodal {

/// PIL's Image.MAX_IMAGE_PIXELS (its decompression-bomb threshold).
inline constexpr int64_t k_default_max_image_pixels = 89'478'485;

enum class image_format { unknown, png, jpeg, webp, gif };

/// "PNG", "JPEG", "WebP", "GIF" ("unknown").
const char* image_format_name(image_format f);

/// The format the magic bytes say, or unknown (also for formats we do not decode).
image_format sniff_image_format(std::string_view bytes);

struct image_decode_options {
    /// Images with more pixels (width * height, from the header) are refused undecoded.
    int64_t max_pixels = k_default_max_image_pixels;
};

/// Decodes `bytes`. Errors (error_kind::invalid_argument) name the problem: an
/// unsupported or unrecognized format, truncated or corrupt data, too many pixels.
result<rgb_image> decode_image(std::string_view bytes, const image_decode_options& options = {});

/// The EXIF Orientation tag (1..8) of a TIFF-structured EXIF block (what follows
/// "Exif\0\0" in a JPEG APP1 segment); 1 when absent or unreadable.
int exif_orientation(std::string_view tiff);

/// Applies EXIF orientation `o` (2..8) as PIL's ImageOps.exif_transpose does; 1 and
/// unknown values leave the image as it is. Orientations 5..8 swap width and height.
rgb_image apply_exif_orientation(const rgb_image& img, int o);

}  // namespace actorlm::multimodal

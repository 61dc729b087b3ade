// rgb_image: a decoded picture as the image processors consume it — 8-bit RGB,
// row-major, no padding, the layout PIL's Image.convert("RGB") gives. Decoders
// (image_decoder) produce it; processors (resize, normalize, tile) read it.
// Plain data; no threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace actorlm::multimodal {

/// An 8-bit RGB image; pixel (x, y) channel c is at pixels[(y * width + x) * 3 + c].
struct rgb_image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels;  ///< width * height * 3 bytes

    size_t num_pixels() const { return static_cast<size_t>(width) * static_cast<size_t>(height); }
    const uint8_t* at(int x, int y) const { return pixels.data() + (num_pixels_before(x, y) * 3); }

private:
    size_t num_pixels_before(int x, int y) const {
        return static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x);
    }
};

}  // namespace actorlm::multimodal

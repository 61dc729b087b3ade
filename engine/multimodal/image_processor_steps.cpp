// image_processor_steps: crop, pad and normalize in the exact float order of transformers'
// numpy image transforms (rescale in double then float32; normalize in float32).
#include "multimodal/image_processor_steps.hpp"

#include <algorithm>

namespace actorlm::multimodal {

rgb_image crop_image(const rgb_image& image, int x, int y, int width, int height) {
    ACTORLM_CHECK(x >= 0 && y >= 0 && width >= 0 && height >= 0 && x + width <= image.width &&
                      y + height <= image.height,
                  "crop_image: %dx%d at (%d,%d) outside %dx%d", width, height, x, y,
                  image.width, image.height);
    rgb_image out;
    out.width = width;
    out.height = height;
    out.pixels.resize(out.num_pixels() * 3);
    for (int r = 0; r < height; ++r) {
        const uint8_t* src = image.at(x, y + r);
        std::copy(src, src + static_cast<size_t>(width) * 3,
                  out.pixels.data() + static_cast<size_t>(r) * static_cast<size_t>(width) * 3);
    }
    return out;
}

rgb_image place_on_canvas(const rgb_image& image, int width, int height, int x, int y,
                          std::array<uint8_t, 3> fill) {
    rgb_image out;
    out.width = width;
    out.height = height;
    out.pixels.resize(out.num_pixels() * 3);
    for (size_t i = 0; i < out.num_pixels(); ++i)
        std::copy(fill.begin(), fill.end(), out.pixels.begin() + static_cast<ptrdiff_t>(i * 3));
    const int x0 = std::max(x, 0), x1 = std::min(x + image.width, width);
    const int y0 = std::max(y, 0), y1 = std::min(y + image.height, height);
    if (x1 <= x0) return out;
    for (int r = y0; r < y1; ++r) {
        const uint8_t* src = image.at(x0 - x, r - y);
        std::copy(src, src + static_cast<size_t>(x1 - x0) * 3,
                  out.pixels.data() + (static_cast<size_t>(r) * static_cast<size_t>(width) +
                                       static_cast<size_t>(x0)) * 3);
    }
    return out;
}

void append_normalized_chw(const rgb_image& image, const pixel_normalization& norm,
                           std::vector<float>& out) {
    // A lookup per channel: the value depends only on the byte, and this keeps the exact
    // operation order of numpy (double product, float32 cast, float32 subtract and divide).
    std::array<std::array<float, 256>, 3> table{};
    for (size_t c = 0; c < 3; ++c) {
        const auto mean = static_cast<float>(norm.mean[c]);
        const auto std = static_cast<float>(norm.std[c]);
        for (int v = 0; v < 256; ++v) {
            float x = norm.do_rescale ? static_cast<float>(v * norm.rescale_factor)
                                      : static_cast<float>(v);
            if (norm.do_normalize) x = (x - mean) / std;
            table[c][static_cast<size_t>(v)] = x;
        }
    }
    const size_t n = image.num_pixels();
    const size_t base = out.size();
    out.resize(base + n * 3);
    for (size_t c = 0; c < 3; ++c) {
        float* dst = out.data() + base + c * n;
        for (size_t i = 0; i < n; ++i) dst[i] = table[c][image.pixels[i * 3 + c]];
    }
}

status check_resize_target(int64_t width, int64_t height, const char* step) {
    if (width < 1 || height < 1)
        return make_error(error_kind::invalid_argument,
                          "image: %s gives an empty size %lldx%lld (the image is too thin)", step,
                          static_cast<long long>(width), static_cast<long long>(height));
    if (width > INT32_MAX || height > INT32_MAX ||
        width * height > static_cast<int64_t>(1) << 40)
        return make_error(error_kind::invalid_argument,
                          "image: %s gives a size %lldx%lld too large to process", step,
                          static_cast<long long>(width), static_cast<long long>(height));
    return {};
}

}  // namespace actorlm::multimodal

// image_processor_clip: CLIPImageProcessor and LlavaImageProcessor. The center crop is taken
// while resizing (pil_resize_window), so a thin picture whose shortest edge scales to 336
// costs 336 x 336 outputs, not the whole 336 x 672000 intermediate HF materializes.
#include <algorithm>
#include <cmath>

#include "multimodal/image_processor.hpp"
#include "multimodal/image_processor_steps.hpp"
#include "multimodal/pil_resample.hpp"

namespace actorlm::multimodal {

// Named rather than anonymous: unity batches join this file with its neighbours.
namespace clip_processor_detail {

// Python floor division (numpy slicing arithmetic uses it for negative offsets).
int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

// get_resize_output_image_size(default_to_square=False): the short side becomes `edge`, the
// long side int(edge * long / short). Returns {height, width}.
std::array<int64_t, 2> shortest_edge_size(int64_t height, int64_t width, int64_t edge) {
    const bool width_short = width <= height;
    const int64_t short_side = width_short ? width : height;
    const int64_t long_side = width_short ? height : width;
    const auto new_long = static_cast<int64_t>(static_cast<double>(edge * long_side) /
                                               static_cast<double>(short_side));
    return width_short ? std::array<int64_t, 2>{new_long, edge}
                       : std::array<int64_t, 2>{edge, new_long};
}

// LlavaImageProcessor.pad_to_square: the picture centered (offset floored) on a square of
// the mean colour, int(mean * 255) per channel.
rgb_image pad_to_square(const rgb_image& image, const pixel_normalization& norm) {
    if (image.width == image.height) return image;
    const int side = std::max(image.width, image.height);
    std::array<uint8_t, 3> fill{};
    for (size_t c = 0; c < 3; ++c)
        fill[c] = static_cast<uint8_t>(std::clamp(static_cast<int>(norm.mean[c] * 255), 0, 255));
    if (image.width > image.height)
        return place_on_canvas(image, side, side, 0, (side - image.height) / 2, fill);
    return place_on_canvas(image, side, side, (side - image.width) / 2, 0, fill);
}

}  // namespace clip_processor_detail

result<processed_image> preprocess_clip(const clip_image_config& config, const rgb_image& input) {
    using namespace clip_processor_detail;
    if (input.width < 1 || input.height < 1)
        return make_error(error_kind::invalid_argument, "image: empty picture");
    if (config.patch_size < 1 || config.crop_height < 1 || config.crop_width < 1 ||
        (config.do_resize && config.shortest_edge < 1 &&
         (config.resize_height < 1 || config.resize_width < 1)))
        return make_error(error_kind::invalid_argument,
                          "CLIP image settings: patch_size, crop and resize sizes must be >= 1");
    const rgb_image padded = config.do_pad ? pad_to_square(input, config.norm) : rgb_image();
    const rgb_image& image = config.do_pad ? padded : input;

    // The size after resizing.
    int64_t height = image.height, width = image.width;
    if (config.do_resize) {
        if (config.shortest_edge > 0) {
            const auto hw = shortest_edge_size(height, width, config.shortest_edge);
            height = hw[0];
            width = hw[1];
        } else {
            height = config.resize_height;
            width = config.resize_width;
        }
        ACTORLM_TRY(check_resize_target(width, height, "the shortest-edge resize"));
    }

    // transformers' center_crop: top = (h - crop_h) // 2; a crop larger than the picture pads
    // with zeros, the picture centered at ceil((new - old) / 2).
    int64_t top = 0, left = 0, out_h = height, out_w = width;
    if (config.do_center_crop) {
        out_h = config.crop_height;
        out_w = config.crop_width;
        top = floor_div(height - out_h, 2);
        left = floor_div(width - out_w, 2);
    }
    const bool inside = top >= 0 && left >= 0 && top + out_h <= height && left + out_w <= width;

    rgb_image result_image;
    const bool resize = config.do_resize && (width != image.width || height != image.height);
    if (inside) {
        const pixel_window window{static_cast<int>(left), static_cast<int>(top),
                                  static_cast<int>(out_w), static_cast<int>(out_h)};
        result_image = resize ? pil_resize_window(image, static_cast<int>(width),
                                                  static_cast<int>(height), config.resample,
                                                  window)
                              : crop_image(image, window.x, window.y, window.width,
                                           window.height);
    } else {
        const rgb_image resized =
            resize ? pil_resize(image, static_cast<int>(width), static_cast<int>(height),
                                config.resample)
                   : image;
        const int64_t new_h = std::max(out_h, height), new_w = std::max(out_w, width);
        const int64_t top_pad = (new_h - height + 1) / 2, left_pad = (new_w - width + 1) / 2;
        // Place on the padded canvas, then slice [top + top_pad, ...) clamped to it.
        const rgb_image canvas =
            place_on_canvas(resized, static_cast<int>(new_w), static_cast<int>(new_h),
                            static_cast<int>(left_pad), static_cast<int>(top_pad), {0, 0, 0});
        const int64_t y0 = std::max<int64_t>(0, top + top_pad);
        const int64_t y1 = std::min(new_h, top + top_pad + out_h);
        const int64_t x0 = std::max<int64_t>(0, left + left_pad);
        const int64_t x1 = std::min(new_w, left + left_pad + out_w);
        result_image = crop_image(canvas, static_cast<int>(x0), static_cast<int>(y0),
                                  static_cast<int>(x1 - x0), static_cast<int>(y1 - y0));
    }

    processed_image out;
    append_normalized_chw(result_image, config.norm, out.pixel_values);
    out.shape = {3, result_image.height, result_image.width};
    // LlavaProcessor counts from the processed pixel values' size.
    int64_t tokens = (result_image.height / config.patch_size) *
                         static_cast<int64_t>(result_image.width / config.patch_size) +
                     config.num_additional_image_tokens;
    if (config.vision_feature_select_strategy == "default") --tokens;
    out.num_image_tokens = tokens;
    return out;
}

}  // namespace actorlm::multimodal

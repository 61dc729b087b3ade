// image_processor_idefics3: Idefics3ImageProcessor (SmolVLM's is the same algorithm). Sizes
// follow the Python integer/float arithmetic of transformers exactly (int() truncation of
// float quotients, the even-height rule, the 4096 cap); every resize goes through PIL's
// filter on uint8, so three successive resizes round as HF's do.
#include <algorithm>
#include <cmath>

#include "multimodal/image_processor.hpp"
#include "multimodal/image_processor_steps.hpp"
#include "multimodal/pil_resample.hpp"

namespace actorlm::multimodal {

// Named rather than anonymous: unity batches join this file with its neighbours.
namespace idefics3_processor_detail {

// transformers' MAX_IMAGE_SIZE for Idefics3: no side above 4096 after the first resize.
constexpr int64_t k_idefics3_max_side = 4096;

struct idefics3_size {
    int64_t height;
    int64_t width;
};

// _resize_output_size_rescale_to_max_len: the longest side becomes max_len, the other keeps
// the aspect ratio, rounded up to even; at least 1.
idefics3_size rescale_to_max_len(int64_t height, int64_t width, int64_t max_len) {
    const double aspect = static_cast<double>(width) / static_cast<double>(height);
    if (width >= height) {
        width = max_len;
        height = static_cast<int64_t>(static_cast<double>(width) / aspect);
        if (height % 2 != 0) ++height;
    } else {
        height = max_len;
        width = static_cast<int64_t>(static_cast<double>(height) * aspect);
        if (width % 2 != 0) ++width;
    }
    return {std::max<int64_t>(height, 1), std::max<int64_t>(width, 1)};
}

// _resize_output_size_scale_below_upper_bound.
idefics3_size scale_below_upper_bound(int64_t height, int64_t width, int64_t max_len) {
    const double aspect = static_cast<double>(width) / static_cast<double>(height);
    if (width >= height && width > max_len) {
        width = max_len;
        height = static_cast<int64_t>(static_cast<double>(width) / aspect);
    } else if (height > width && height > max_len) {
        height = max_len;
        width = static_cast<int64_t>(static_cast<double>(height) * aspect);
    }
    return {std::max<int64_t>(height, 1), std::max<int64_t>(width, 1)};
}

int64_t ceil_to(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// resize_for_vision_encoder: both sides up to multiples of the tile side.
idefics3_size tile_multiple_size(int64_t height, int64_t width, int64_t tile) {
    const double aspect = static_cast<double>(width) / static_cast<double>(height);
    if (width >= height) {
        width = ceil_to(width, tile);
        height = static_cast<int64_t>(static_cast<double>(width) / aspect);
        height = ceil_to(height, tile);
    } else {
        height = ceil_to(height, tile);
        width = static_cast<int64_t>(static_cast<double>(height) * aspect);
        width = ceil_to(width, tile);
    }
    return {height, width};
}

result<rgb_image> resize_checked(const rgb_image& image, idefics3_size size, resample_filter filter,
                                 const char* step) {
    ACTORLM_TRY(check_resize_target(size.width, size.height, step));
    return pil_resize(image, static_cast<int>(size.width), static_cast<int>(size.height), filter);
}

status take_resized(rgb_image& dst, result<rgb_image> r) {
    if (!r) return r.err();
    dst = std::move(r.value());
    return {};
}

}  // namespace idefics3_processor_detail

result<processed_image> preprocess_idefics3(const idefics3_image_config& config,
                                            const rgb_image& input) {
    using namespace idefics3_processor_detail;
    if (input.width < 1 || input.height < 1)
        return make_error(error_kind::invalid_argument, "image: empty picture");
    if (config.longest_edge < 1 || config.max_image_size < 1 || config.image_seq_len < 1)
        return make_error(error_kind::invalid_argument,
                          "Idefics3 image settings: longest_edge, max_image_size and "
                          "image_seq_len must be >= 1");
    rgb_image image = input;
    if (config.do_resize) {
        idefics3_size size = rescale_to_max_len(image.height, image.width, config.longest_edge);
        size = scale_below_upper_bound(size.height, size.width, k_idefics3_max_side);
        ACTORLM_TRY(take_resized(
            image, resize_checked(image, size, config.resample, "the longest-edge resize")));
    }
    const int64_t tile = config.max_image_size;
    std::vector<rgb_image> frames;
    processed_image out;
    if (config.do_image_splitting) {
        const idefics3_size size = tile_multiple_size(image.height, image.width, tile);
        ACTORLM_TRY(take_resized(image, resize_checked(image, size, config.resample,
                                                      "the resize to tile multiples")));
        if (image.height > tile || image.width > tile) {
            // split_images: whole tiles from the top left (numpy slices clamp at the edge;
            // after the tile-multiple resize every tile is whole).
            const int64_t rows = (image.height - tile) / tile + 1;
            const int64_t cols = (image.width - tile) / tile + 1;
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) {
                    const int64_t x0 = c * tile, y0 = r * tile;
                    const int64_t x1 = std::min<int64_t>(x0 + tile, image.width);
                    const int64_t y1 = std::min<int64_t>(y0 + tile, image.height);
                    frames.push_back(crop_image(image, static_cast<int>(x0), static_cast<int>(y0),
                                                static_cast<int>(x1 - x0),
                                                static_cast<int>(y1 - y0)));
                }
            out.num_rows = static_cast<int>(rows);
            out.num_cols = static_cast<int>(cols);
            // The global image, resized to one tile.
            image = pil_resize(image, static_cast<int>(tile), static_cast<int>(tile),
                               config.resample);
        }
    } else {
        ACTORLM_TRY(take_resized(
            image, resize_checked(image, {tile, tile}, config.resample, "the square resize")));
    }
    frames.push_back(std::move(image));

    // After the tile-multiple resize every frame is tile x tile; HF's batch padding (do_pad)
    // is a no-op for one image.
    for (const rgb_image& f : frames)
        ACTORLM_CHECK(f.width == frames.back().width && f.height == frames.back().height,
                      "idefics3: frames of different sizes");
    for (const rgb_image& f : frames) append_normalized_chw(f, config.norm, out.pixel_values);
    out.shape = {static_cast<int64_t>(frames.size()), 3, frames.back().height,
                 frames.back().width};
    out.num_image_tokens = static_cast<int64_t>(frames.size()) * config.image_seq_len;
    return out;
}

}  // namespace actorlm::multimodal

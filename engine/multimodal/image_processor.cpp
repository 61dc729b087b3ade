// image_processor: dispatch on the configured family (the per-family steps live in
// image_processor_clip / _idefics3 / _qwen2_vl).
#include "multimodal/image_processor.hpp"

namespace actorlm::multimodal {

result<processed_image> preprocess_image(const image_processor_config& config,
                                         const rgb_image& image) {
    if (image.pixels.size() != image.num_pixels() * 3)
        return make_error(error_kind::invalid_argument,
                          "image: %dx%d picture holds %zu bytes, not width * height * 3",
                          image.width, image.height, image.pixels.size());
    if (const auto* c = std::get_if<clip_image_config>(&config)) return preprocess_clip(*c, image);
    if (const auto* c = std::get_if<idefics3_image_config>(&config))
        return preprocess_idefics3(*c, image);
    return preprocess_qwen2_vl(std::get<qwen2_vl_image_config>(config), image);
}

processed_image layout_of(const processed_image& image) {
    processed_image out;
    out.shape = image.shape;
    out.num_rows = image.num_rows;
    out.num_cols = image.num_cols;
    out.grid_thw = image.grid_thw;
    out.merge_size = image.merge_size;
    out.num_image_tokens = image.num_image_tokens;
    return out;
}

}  // namespace actorlm::multimodal

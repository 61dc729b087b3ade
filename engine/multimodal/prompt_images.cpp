// prompt_images implementation.
#include "multimodal/prompt_images.hpp"

#include <string>

namespace actorlm::multimodal {

size_t count_prompt_images(const actorlm::generate_request& req) {
    size_t n = 0;
    for (const auto& m : req.messages)
        for (const auto& p : m.parts) n += p.type == actorlm::content_part::kind::image;
    return n;
}

result<std::vector<rgb_image>> decode_prompt_images(const actorlm::generate_request& req,
                                                   const image_decode_options& options) {
    std::vector<rgb_image> images;
    for (const auto& m : req.messages) {
        for (const auto& p : m.parts) {
            if (p.type != actorlm::content_part::kind::image) continue;
            auto img = decode_image(p.image.data, options);
            if (!img) {
                const std::string where = p.image.source.empty() ? "" : " (" + p.image.source + ")";
                return make_error(error_kind::invalid_argument, "image %zu%s: %s",
                                  images.size() + 1, where.c_str(), img.message().c_str());
            }
            images.push_back(std::move(img.value()));
        }
    }
    return images;
}

status attach_prompt_images(const actorlm::generate_request& req) {
    auto images = decode_prompt_images(req);
    if (!images) return images.err();
    return make_error(error_kind::invalid_argument,
                      "this model does not support image input (it has no vision encoder)");
}

}  // namespace actorlm::multimodal

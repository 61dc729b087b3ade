// image_encoder implementation.
#include "multimodal/image_encoder.hpp"

#include <algorithm>

namespace actorlm::multimodal {

image_encoder::image_encoder(std::shared_ptr<const vision_model> model, int num_threads)
    : tower_(std::move(model)), num_threads_(num_threads) {}

result<std::shared_ptr<const vision_features>> image_encoder::encode(const encoder_input& input) {
    if (!input.image) return make_error("image_encoder: an input without pixel values");
    if (!pool_) pool_ = std::make_unique<cpu::thread_pool>(num_threads_);
    auto features = tower_.encode(*input.image, *pool_);
    if (!features) return features.err();
    const auto rows = static_cast<int64_t>(features->data.size()) / std::max<int64_t>(features->dim, 1);
    if (rows != input.image->num_image_tokens)
        return make_error("the vision tower made %lld rows for an image the processor gave %lld "
                          "placeholder tokens",
                          static_cast<long long>(rows),
                          static_cast<long long>(input.image->num_image_tokens));
    ++num_encoded_;
    return std::make_shared<const vision_features>(std::move(features).value());
}

}  // namespace actorlm::multimodal

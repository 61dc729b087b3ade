// image_preprocessor implementation.
#include "multimodal/image_preprocessor.hpp"

#include "multimodal/mm_hash.hpp"

namespace actorlm::multimodal {

image_preprocessor::image_preprocessor(std::shared_ptr<const vision_language_model> model,
                                       size_t cache_bytes, image_decode_options decode)
    : model_(std::move(model)), decode_(decode), cache_(cache_bytes) {}

result<std::vector<prepared_image>> image_preprocessor::prepare(
    const actorlm::generate_request& req, bool counted) {
    std::vector<prepared_image> out;
    for (const auto& m : req.messages) {
        for (const auto& p : m.parts) {
            if (p.type != actorlm::content_part::kind::image) continue;
            prepared_image item;
            item.mm_hash = mm_hash_of("image", model_->processor_key, p.image.data);
            {
                std::lock_guard lock(mutex_);
                item.image = cache_.lookup(item.mm_hash, counted);
            }
            if (!item.image) {
                auto fail = [&](const std::string& what) {
                    const std::string where =
                        p.image.source.empty() ? "" : " (" + p.image.source + ")";
                    return make_error(error_kind::invalid_argument, "image %zu%s: %s",
                                      out.size() + 1, where.c_str(), what.c_str());
                };
                auto picture = decode_image(p.image.data, decode_);
                if (!picture) return fail(picture.message());
                auto processed = preprocess_image(model_->processor, *picture);
                if (!processed) return fail(processed.message());
                auto shared = std::make_shared<const processed_image>(std::move(processed).value());
                const size_t bytes = shared->pixel_values.size() * sizeof(float);
                std::lock_guard lock(mutex_);
                ++images_processed_;
                cache_.insert(item.mm_hash, shared, bytes);
                item.image = std::move(shared);
            }
            out.push_back(std::move(item));
        }
    }
    return out;
}

image_preprocessor::cache_stats image_preprocessor::stats() const {
    std::lock_guard lock(mutex_);
    return {cache_.num_queries(), cache_.num_hits(), cache_.num_evictions(), cache_.used_bytes(),
            images_processed_};
}

}  // namespace actorlm::multimodal

// image_preprocessor: the frontend's step for the images of a chat request — each image's
// mm_hash (its bytes and the model's processor key), then decode + preprocess, or the
// processed result from the ProcessorCache when the same image came before (vLLM's
// processor cache: a repeated image is neither decoded nor resized again). Thread-safe:
// one instance serves the engine's frontend, whatever thread tokenizes.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actorlm/engine.hpp"
#include "base/result.hpp"
#include "multimodal/image_decoder.hpp"
#include "multimodal/image_processor.hpp"
#include "multimodal/processor_cache.hpp"
#include "multimodal/vision_language.hpp"

namespace actorlm::multimodal {

/// One image of a request, ready for prompt expansion and the encoder.
struct prepared_image {
    std::string mm_hash;
    std::shared_ptr<const processed_image> image;
};

class image_preprocessor {
public:
    /// cache_bytes: the ProcessorCache's budget (0 disables it).
    image_preprocessor(std::shared_ptr<const vision_language_model> model, size_t cache_bytes,
                       image_decode_options decode = {});

    const vision_language_model& model() const { return *model_; }

    /// Every image of the request's messages, in order. Errors (invalid_argument) name the
    /// image ("image 2 (source): ...") and the problem. `counted`: whether the cache
    /// lookups enter its statistics (false for checks such as /tokenize and the server's
    /// context-length check, so the counters count the images of generations).
    result<std::vector<prepared_image>> prepare(const actorlm::generate_request& req,
                                                bool counted = true);

    struct cache_stats {
        int64_t queries = 0;
        int64_t hits = 0;
        int64_t evictions = 0;
        size_t used_bytes = 0;
        /// Images decoded and preprocessed (cache misses, or every image with the cache
        /// off), checks included: the work done, whoever asked.
        int64_t images_processed = 0;
    };
    cache_stats stats() const;

private:
    std::shared_ptr<const vision_language_model> model_;
    image_decode_options decode_;
    mutable std::mutex mutex_;  // guards cache_
    processor_cache<processed_image> cache_;
    int64_t images_processed_ = 0;  // guarded by mutex_
};

}  // namespace actorlm::multimodal

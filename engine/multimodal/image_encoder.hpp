// image_encoder: a worker's vision tower with the threads it runs on. The pool is made on
// the first image, so a vision-language model serving text only starts no extra threads;
// it runs between forward passes of the same worker, never beside them, so it does not
// compete with the executor's pool. Single-threaded use (one worker).
#pragma once

#include <memory>

#include "base/result.hpp"
#include "cpu/thread_pool.hpp"
#include "multimodal/encoder_input.hpp"
#include "multimodal/vision_tower.hpp"

namespace actorlm::multimodal {

class image_encoder {
public:
    /// num_threads: as the executor's (0 = one per hardware thread).
    image_encoder(std::shared_ptr<const vision_model> model, int num_threads);

    /// The input's feature rows (num_image_tokens of them, output_dim wide).
    result<std::shared_ptr<const vision_features>> encode(const encoder_input& input);

    /// Width of a feature row (the language model's hidden size).
    int64_t output_dim() const { return tower_.model().output_dim; }
    /// Inputs encoded so far.
    int64_t num_encoded() const { return num_encoded_; }

private:
    vision_tower tower_;
    int num_threads_;
    std::unique_ptr<cpu::thread_pool> pool_;
    int64_t num_encoded_ = 0;
};

}  // namespace actorlm::multimodal

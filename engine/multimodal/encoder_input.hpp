// encoder_input: what a worker needs to run one multimodal input through its encoder — the
// processor's output and which positions of the input's placeholder range receive encoder
// rows (vLLM's is_embed; Idefics3's range also holds row/column and wrapper tokens that stay
// text). Built once by the frontend, immutable after, shared by pointer between the request
// and the workers of this process. Plain data.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "multimodal/image_processor.hpp"

namespace actorlm::multimodal {

struct encoder_input {
    /// Shared with the frontend's processor cache: a repeated image is one copy.
    std::shared_ptr<const processed_image> image;
    /// One flag per placeholder position; empty: every position takes a row.
    std::vector<bool> is_embed;

};

}  // namespace actorlm::multimodal

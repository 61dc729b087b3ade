// mm_feature: one multimodal input of a request as the scheduler sees it — the content
// hash of the input (the image bytes and the processor settings that shaped it) and
// the prompt positions its encoder output fills (vLLM's MultiModalFeatureSpec with its
// PlaceholderRange). The hash keys all three caches (processor, encoder, prefix);
// the range tells the scheduler when the encoder must have run. Plain data.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace actorlm::multimodal {
struct encoder_input;
}  // namespace actorlm::multimodal

namespace actorlm::core {

struct mm_feature {
    std::string mm_hash;  ///< content hash of the processed input
    int32_t offset = 0;   ///< first prompt position of its placeholder tokens
    int32_t length = 0;   ///< placeholder tokens (encoder rows fill those marked is_embed)
    /// The processed input the worker encodes; shared, never copied. It stays in this
    /// process: a remote worker receives hash and range only (it cannot encode).
    std::shared_ptr<const multimodal::encoder_input> data;
    int32_t end() const { return offset + length; }
    friend bool operator==(const mm_feature&, const mm_feature&) = default;
};

/// Checks that `features` lie inside a prompt of `num_prompt_tokens`, in order, without
/// overlapping, each with a hash and at least one position.
status check_mm_features(std::span<const mm_feature> features, int32_t num_prompt_tokens);

/// The hashes of the features overlapping positions [begin, end), in order.
std::vector<std::string> mm_hashes_in(std::span<const mm_feature> features, int32_t begin,
                                      int32_t end);

}  // namespace actorlm::core

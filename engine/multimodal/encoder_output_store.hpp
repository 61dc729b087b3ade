// encoder_output_store: where a worker finds encoder outputs it did not compute and
// leaves the ones it did — vLLM's encoder-cache connector idea ("encode once, prefill
// anywhere"). The worker asks before running its encoder and stores after; references
// are per request and dropped when the request finishes. The actor runtime backs it with
// the encoder-cache actor (in this process or another engine's); model_runner works with
// none. Also the byte form of vision_features that crosses actor and process boundaries.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "multimodal/vision_tower.hpp"

namespace actorlm::multimodal {

class encoder_output_store {
public:
    virtual ~encoder_output_store() = default;
    /// The output under `mm_hash`, now referenced by `request_id`; null when absent or the
    /// store cannot answer (the caller encodes).
    virtual std::shared_ptr<const vision_features> find(const std::string& mm_hash,
                                                        const std::string& request_id) = 0;
    /// Offers an output the caller computed for `request_id` (a full store may decline).
    virtual void put(const std::string& mm_hash, const std::string& request_id,
                     const vision_features& features) = 0;
    /// `request_id` no longer needs any output.
    virtual void release(const std::string& request_id) = 0;
};

/// vision_features as bytes: a header (rows, dim, images, per-image rows) then the floats.
std::vector<char> features_to_bytes(const vision_features& f);
/// The inverse; an error for bytes that are not a whole encoding.
result<vision_features> features_from_bytes(const std::vector<char>& bytes);

}  // namespace actorlm::multimodal

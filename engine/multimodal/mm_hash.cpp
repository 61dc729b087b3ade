// mm_hash implementation: a content_digest of the three fields.
#include "multimodal/mm_hash.hpp"

#include "model/content_digest.hpp"

namespace actorlm::multimodal {

std::string mm_hash_of(std::string_view kind, std::string_view processor_key,
                       std::string_view encoded_bytes) {
    content_digest d;
    for (std::string_view field : {kind, processor_key, encoded_bytes}) d.str(field);
    return d.hex();
}

}  // namespace actorlm::multimodal

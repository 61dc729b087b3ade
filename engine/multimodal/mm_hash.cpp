// mm_hash implementation: every field length-prefixed, so no two inputs concatenate to
// the same stream.
#include "multimodal/mm_hash.hpp"

#include <cstdint>
#include <cstdio>

#include <xxhash.h>

namespace actorlm::multimodal {

std::string mm_hash_of(std::string_view kind, std::string_view processor_key,
                       std::string_view encoded_bytes) {
    XXH3_state_t* st = XXH3_createState();
    XXH3_128bits_reset(st);
    for (std::string_view field : {kind, processor_key, encoded_bytes}) {
        const uint64_t n = field.size();
        XXH3_128bits_update(st, &n, sizeof n);
        XXH3_128bits_update(st, field.data(), field.size());
    }
    const XXH128_hash_t h = XXH3_128bits_digest(st);
    XXH3_freeState(st);
    char hex[33];
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return hex;
}

}  // namespace actorlm::multimodal

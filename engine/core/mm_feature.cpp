// mm_feature checks and range queries.
#include "core/mm_feature.hpp"

namespace actorlm::core {

status check_mm_features(std::span<const mm_feature> features, int32_t num_prompt_tokens) {
    int32_t previous_end = 0;
    for (size_t i = 0; i < features.size(); ++i) {
        const mm_feature& f = features[i];
        if (f.mm_hash.empty())
            return make_error(error_kind::invalid_argument, "multimodal input %zu has no hash", i);
        if (f.length <= 0 || f.offset < 0 || f.end() > num_prompt_tokens)
            return make_error(error_kind::invalid_argument,
                              "multimodal input %zu covers positions [%d, %d), outside the "
                              "prompt of %d tokens",
                              i, f.offset, f.end(), num_prompt_tokens);
        if (f.offset < previous_end)
            return make_error(error_kind::invalid_argument,
                              "multimodal input %zu at position %d overlaps or precedes the one "
                              "before it",
                              i, f.offset);
        previous_end = f.end();
    }
    return status::success();
}

std::vector<std::string> mm_hashes_in(std::span<const mm_feature> features, int32_t begin,
                                      int32_t end) {
    std::vector<std::string> out;
    for (const mm_feature& f : features)
        if (f.offset < end && f.end() > begin) out.push_back(f.mm_hash);
    return out;
}

}  // namespace actorlm::core

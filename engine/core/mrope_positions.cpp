// mrope_positions implementation: one pass over the prompt, text runs and image ranges in
// order, as get_rope_index walks its token-type groups.
#include "core/mrope_positions.hpp"

#include <algorithm>

#include "multimodal/encoder_input.hpp"

namespace actorlm::core {

void mrope_prompt_positions::append(int32_t index, std::vector<int32_t>& out) const {
    const auto n = static_cast<int32_t>(positions.size() / 3);
    if (index < n) {
        const auto* p = positions.data() + static_cast<size_t>(index) * 3;
        out.insert(out.end(), p, p + 3);
    } else {
        out.insert(out.end(), 3, index + delta);
    }
}

result<mrope_prompt_positions> compute_mrope_positions(int32_t num_prompt_tokens,
                                                       std::span<const mm_feature> features) {
    ACTORLM_TRY(check_mm_features(features, num_prompt_tokens));
    mrope_prompt_positions out;
    out.positions.reserve(static_cast<size_t>(num_prompt_tokens) * 3);
    int32_t index = 0;   // next prompt index
    int64_t current = 0;  // the next text token's position
    int64_t largest = -1;
    auto add = [&](int64_t t, int64_t h, int64_t w) {
        out.positions.push_back(static_cast<int32_t>(t));
        out.positions.push_back(static_cast<int32_t>(h));
        out.positions.push_back(static_cast<int32_t>(w));
        largest = std::max({largest, t, h, w});
    };
    auto add_text = [&](int32_t end) {
        for (; index < end; ++index, ++current) add(current, current, current);
    };
    for (const mm_feature& f : features) {
        if (!f.data || !f.data->image)
            return make_error("image input %s reached the worker without its processed image "
                              "(M-RoPE positions follow its grid)",
                              f.mm_hash.c_str());
        const multimodal::processed_image& img = *f.data->image;
        const int64_t m = img.merge_size;
        const int64_t gt = img.grid_thw[0];
        const int64_t gh = m > 0 ? img.grid_thw[1] / m : 0;
        const int64_t gw = m > 0 ? img.grid_thw[2] / m : 0;
        if (gt * gh * gw != f.length || !f.data->is_embed.empty())
            return make_error("image input %s: %d placeholder tokens, but its grid %lldx%lldx%lld "
                              "merged by %lld has %lld",
                              f.mm_hash.c_str(), f.length, static_cast<long long>(img.grid_thw[0]),
                              static_cast<long long>(img.grid_thw[1]),
                              static_cast<long long>(img.grid_thw[2]), static_cast<long long>(m),
                              static_cast<long long>(gt * gh * gw));
        add_text(f.offset);
        const int64_t start = current;
        for (int64_t t = 0; t < gt; ++t)
            for (int64_t r = 0; r < gh; ++r)
                for (int64_t c = 0; c < gw; ++c) add(start + t, start + r, start + c);
        index = f.end();
        current = start + std::max(gh, gw);
    }
    add_text(num_prompt_tokens);
    out.delta = static_cast<int32_t>(largest + 1 - num_prompt_tokens);
    return out;
}

}  // namespace actorlm::core

// mrope_positions: the M-RoPE positions of a Qwen2.5-VL prompt, as transformers'
// Qwen2_5_VLModel.get_rope_index computes them for images (vLLM's
// get_mrope_input_positions): a text token's three positions (temporal, height, width) are
// all a running index; an image's placeholder tokens get (t, row, column) over its merged
// grid (grid_thw with h and w divided by the merge size), each plus the index where the
// image starts; the text after an image continues from start + max(h, w). A token after
// the prompt (decode) at index i has position i + delta on all three axes, delta = the
// prompt's largest position + 1 - its length. The positions depend only on the prompt, so
// every chunk of a chunked prefill and every prefix-cache hit sees the same ones.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"
#include "core/mm_feature.hpp"

namespace actorlm::core {

struct mrope_prompt_positions {
    std::vector<int32_t> positions;  ///< [num_prompt_tokens][3]: temporal, height, width
    int32_t delta = 0;               ///< largest position + 1 - num_prompt_tokens (<= 0)

    /// Appends the three positions of the token at sequence index `index` (a prompt token's
    /// from the table, a later token's index + delta).
    void append(int32_t index, std::vector<int32_t>& out) const;
};

/// The positions of a prompt of `num_prompt_tokens` whose images are `features` (in order,
/// inside the prompt; each image's processed input in its data). Errors: a feature without
/// its processed image (a worker that received hash and range only), or a placeholder range
/// whose length is not the image's merged grid size.
result<mrope_prompt_positions> compute_mrope_positions(int32_t num_prompt_tokens,
                                                       std::span<const mm_feature> features);

}  // namespace actorlm::core

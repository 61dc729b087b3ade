// sliding_window_blocks implementation. The hit search walks from the right (vLLM's
// SlidingWindowManager.find_longest_cache_hit): the first run of enough cached blocks
// found there is the longest usable hit; a run that reaches block 0 is a hit of its length
// even when shorter than the window, since nothing before it is needed.
#include "core/sliding_window_blocks.hpp"

#include <algorithm>

#include "base/check.hpp"

namespace actorlm::core {

bool any_group_frees_blocks(std::span<const int32_t> group_windows) {
    return std::any_of(group_windows.begin(), group_windows.end(), [](int32_t w) { return w > 0; });
}

int32_t num_skipped_blocks(int32_t num_computed_tokens, int32_t window, int32_t block_size) {
    ACTORLM_CHECK(window > 0 && block_size > 0, "window %d, block size %d", window, block_size);
    const int32_t first_needed_token = std::max(num_computed_tokens - window + 1, 0);
    return first_needed_token / block_size;
}

int32_t max_blocks_per_request(int32_t num_tokens, int32_t block_size, int32_t window,
                               int32_t chunk_tokens) {
    const int32_t whole = (num_tokens + block_size - 1) / block_size;
    if (window <= 0) return whole;
    // A step's chunk starts at most window - 1 tokens after the first position still read,
    // which may sit anywhere in its block: one block more than the span needs.
    const int64_t span = int64_t{window} - 1 + chunk_tokens;
    return static_cast<int32_t>(std::min<int64_t>(whole, (span + block_size - 1) / block_size + 1));
}

std::vector<int32_t> find_sliding_window_hit(
    int32_t max_blocks, int32_t window, int32_t block_size, int32_t null_block,
    const std::function<std::optional<int32_t>(int32_t)>& cached) {
    ACTORLM_CHECK(window > 0 && block_size > 0, "window %d, block size %d", window, block_size);
    // At least one: a window of one token still reads the block its query's key sits in
    // only once computed, but a hit must end in a block the cache really holds.
    const int32_t needed = std::max((window - 1 + block_size - 1) / block_size, 1);
    std::vector<int32_t> hit(static_cast<size_t>(std::max(max_blocks, 0)), null_block);
    int32_t run = 0;
    for (int32_t i = max_blocks - 1; i >= 0; --i) {
        const std::optional<int32_t> b = cached(i);
        if (!b) {
            run = 0;
            continue;
        }
        hit[static_cast<size_t>(i)] = *b;
        if (++run >= needed) {
            hit.resize(static_cast<size_t>(i + run));
            return hit;
        }
    }
    hit.resize(static_cast<size_t>(run));  // the run that starts at block 0
    return hit;
}

}  // namespace actorlm::core

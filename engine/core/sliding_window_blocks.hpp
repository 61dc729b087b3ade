// sliding_window_blocks: which blocks a sliding-window attention still reads (vLLM's
// SlidingWindowManager rules), as pure functions of token counts. A query at position p
// attends to keys [p - window + 1, p] (model_config::sliding_window), so once a request
// has computed n tokens, every later query starts at or after n - window + 1: the blocks
// wholly before that can be given back, and a prefix-cache hit needs only the blocks
// inside the window of its first uncomputed position. Any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace actorlm::core {

/// Whether some KV-cache group of `group_windows` (0: full attention) frees blocks behind
/// a window, so the pool reserves a null block.
bool any_group_frees_blocks(std::span<const int32_t> group_windows);

/// Blocks [0, result) of a request with `num_computed_tokens` are no longer read by any
/// of its future queries under `window` (> 0).
int32_t num_skipped_blocks(int32_t num_computed_tokens, int32_t window, int32_t block_size);

/// The blocks one request of `num_tokens` tokens holds at most while it computes at most
/// `chunk_tokens` per step: the whole table, or under a window (> 0) only the blocks the
/// window and one step's chunk span (admission checks, sizing reports).
int32_t max_blocks_per_request(int32_t num_tokens, int32_t block_size, int32_t window,
                               int32_t chunk_tokens);

/// The longest prefix-cache hit of at most `max_blocks` blocks under `window`: a hit of h
/// blocks needs the last ceil((window - 1) / block_size) of them cached (a query at
/// position h * block_size reads those); earlier ones may be absent and come back as
/// `null_block`. `cached(i)` looks block i up. The result's size is the hit, in blocks.
std::vector<int32_t> find_sliding_window_hit(
    int32_t max_blocks, int32_t window, int32_t block_size, int32_t null_block,
    const std::function<std::optional<int32_t>(int32_t)>& cached);

}  // namespace actorlm::core

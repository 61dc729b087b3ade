// kv_cache_layout: which layers share a KV block table (vLLM's KV-cache groups). A model
// whose layers mix full attention and a sliding window (Gemma 2/3's local and global layers,
// Qwen2's max_window_layers) keeps every block for its full-attention layers but only the
// window's for the others, so each attention type gets block tables of its own. As in vLLM's
// uniform-page layout, every group has the same number of layer slots: a block id names one
// page of `num_slots` layers, slot s of every group lives in the same storage, and a block
// belongs to one group at a time. Pure data and functions; any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model_config.hpp"

namespace actorlm {

/// Layers of one attention type whose KV blocks come from one block table.
struct kv_cache_group {
    int32_t sliding_window = 0;   // their window (0: full attention)
    std::vector<int64_t> layers;  // ascending; at most kv_cache_layout::num_slots
};

struct kv_cache_layout {
    std::vector<kv_cache_group> groups;   // at least one
    int64_t num_slots = 0;                // layer pages per block (the largest group)
    std::vector<int32_t> group_of_layer;  // [num_layers]
    std::vector<int32_t> slot_of_layer;   // [num_layers]: the layer's page inside a block

    int32_t num_groups() const { return static_cast<int32_t>(groups.size()); }
    /// Each group's window, in group order (what the scheduler's KV manager needs).
    std::vector<int32_t> group_windows() const;
};

/// Whether some layers slide and others attend fully: only then do groups pay off.
bool has_mixed_attention(const model_config& config);

/// One group of every layer (a block holds all of them; its window is the model's when every
/// layer slides, else none: the window only masks), or with `hybrid` and mixed attention one
/// group per attention type and slice of at most num_slots layers, num_slots being the
/// smaller type's layer count (vLLM's _get_kv_cache_groups_uniform_page_size).
kv_cache_layout make_kv_cache_layout(const model_config& config, bool hybrid);

}  // namespace actorlm

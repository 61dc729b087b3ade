// kv_event: a change of the set of block hashes some KV store holds (vLLM's
// KVCacheEvent: BlockStored, BlockRemoved, AllBlocksCleared), for prefix-aware
// routers and other subscribers. Emitted by the device prefix cache (medium
// "device") and by the KV connector tiers ("cpu", "disk", "kv_store"). Plain data.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "core/block_hash.hpp"

namespace actorlm::kv {

/// Replaying one medium's events in order into a set gives the hashes it holds.
struct kv_event {
    enum class kind { block_stored, block_removed, all_blocks_cleared };
    kind type = kind::block_stored;
    std::vector<core::block_hash> block_hashes;  ///< in the order they changed; empty if cleared
    std::string medium;  ///< where the blocks live: "device", "cpu", "disk", "kv_store"
};

using block_hash_set = std::unordered_set<core::block_hash, core::block_hash_hasher>;

/// Replays the events of `medium` in order into `held` (a mirror of what it holds).
inline void apply_kv_events(block_hash_set& held, const std::vector<kv_event>& events,
                            const std::string& medium) {
    for (const auto& e : events) {
        if (e.medium != medium) continue;
        switch (e.type) {
            case kv_event::kind::block_stored:
                held.insert(e.block_hashes.begin(), e.block_hashes.end());
                break;
            case kv_event::kind::block_removed:
                for (const auto& h : e.block_hashes) held.erase(h);
                break;
            case kv_event::kind::all_blocks_cleared: held.clear(); break;
        }
    }
}

}  // namespace actorlm::kv

// block_pool: the physical KV blocks (vLLM's BlockPool): reference counts, the
// free queue in eviction order, and the prefix-cache map from block hash to the
// block holding that content. A freed block keeps its hash and stays a cache hit
// until it is evicted, which happens only when get_new_blocks needs a free block.
// With events on, every change of the map is recorded as a KV event (medium
// "device") in the order it happened. Single-threaded (owned by kv_cache_manager).
// Invariant: ref_count(b) == 0 iff b is in the free queue, except the null block (never
// free, never counted); a hashed block is in the map under exactly its hash; replaying the
// events gives exactly the map's hashes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/block_hash.hpp"
#include "core/free_block_queue.hpp"
#include "kv/kv_event.hpp"

namespace actorlm::core {

class block_pool {
public:
    /// `num_blocks` >= 1 blocks, all free; prefix caching on or off. With
    /// `enable_kv_cache_events` the pool records its prefix-cache changes (see
    /// take_events), starting with all_blocks_cleared: a new pool holds nothing, so a
    /// subscriber forgets what an earlier pool of this engine held (a rebuild).
    /// With `reserve_null_block`, block k_null_block never leaves the pool's hands: it stands
    /// in a block table for blocks a sliding window no longer reads (vLLM's null_block), and
    /// touch/free_blocks pass over it.
    block_pool(int32_t num_blocks, bool enable_caching, bool enable_kv_cache_events = false,
               bool reserve_null_block = false);

    static constexpr int32_t k_null_block = 0;
    int32_t num_blocks() const { return static_cast<int32_t>(blocks_.size()); }
    /// The blocks requests can hold: all but the null block when one is reserved.
    int32_t num_usable_blocks() const { return num_blocks() - (has_null_block_ ? 1 : 0); }
    bool is_null(int32_t block_id) const { return has_null_block_ && block_id == k_null_block; }
    int32_t num_free_blocks() const { return free_.size(); }
    /// Usable blocks some table references.
    int32_t num_used_blocks() const { return num_usable_blocks() - num_free_blocks(); }
    bool caching_enabled() const { return enable_caching_; }
    /// Fraction of blocks in use (referenced), 0..1.
    double usage() const;

    /// Takes `n` blocks from the front of the free queue, evicting their cached
    /// content, each with ref count 1. Precondition: n <= num_free_blocks().
    std::vector<int32_t> get_new_blocks(int32_t n);
    /// The block that holds `hash`, if cached.
    std::optional<int32_t> get_cached_block(const block_hash& hash) const;
    /// Takes a reference on blocks found by a prefix hit; a free one leaves the free queue.
    /// Null entries are skipped (here and in free_blocks).
    void touch(std::span<const int32_t> block_ids);
    /// Drops one reference per block, in the given order; a block reaching zero joins
    /// the free queue (back if it holds cached content, front otherwise). Pass a
    /// request's blocks tail first so its tail is evicted before its head.
    void free_blocks(std::span<const int32_t> block_ids);
    /// Registers blocks [num_cached, hashes.size()) of a block table under their
    /// hashes. A block whose content is already cached elsewhere stays unregistered.
    /// `announce` false: no KV events, now or at eviction (the keys of KV-cache groups
    /// after the first, group_block_hash, which no subscriber could look up).
    void cache_full_blocks(std::span<const int32_t> block_ids, std::span<const block_hash> hashes,
                           int32_t num_cached, bool announce = true);
    /// Forgets every cached hash; only when no block is referenced. False otherwise.
    bool reset_prefix_cache();

    /// The medium of the pool's events (vLLM says "GPU"; ours is the device pool
    /// whatever the backend).
    static constexpr const char* k_event_medium = "device";
    /// Prefix-cache changes since the last call, oldest first (vLLM's
    /// BlockPool.take_events): block_stored with the hashes one cache_full_blocks
    /// call registered (a hash already cached is not repeated), block_removed with
    /// the hashes one get_new_blocks call evicted, all_blocks_cleared for a reset.
    /// Always empty with events off, which costs nothing. The owner drains it every
    /// step: the pool keeps every event until then.
    std::vector<kv::kv_event> take_events() { return std::exchange(events_, {}); }
    bool events_enabled() const { return events_enabled_; }
    /// Every hash in the prefix cache now, in no order (checks and tests).
    std::vector<block_hash> cached_hashes() const;

    int32_t ref_count(int32_t block_id) const { return blocks_[idx(block_id)].ref_cnt; }
    const std::optional<block_hash>& hash_of(int32_t block_id) const {
        return blocks_[idx(block_id)].hash;
    }
    int64_t num_cached_blocks() const { return static_cast<int64_t>(cached_.size()); }
    int64_t num_evictions() const { return num_evictions_; }
    const free_block_queue& free_queue() const { return free_; }

private:
    struct block {
        int32_t ref_cnt = 0;
        std::optional<block_hash> hash;
        bool announced = false;  // its hash went out in a block_stored event
    };
    static size_t idx(int32_t b) { return static_cast<size_t>(b); }
    /// Drops the block's cached content; returns the hash it took out of the map.
    std::optional<block_hash> evict(int32_t block_id);

    std::vector<block> blocks_;
    free_block_queue free_;
    std::unordered_map<block_hash, int32_t, block_hash_hasher> cached_;
    bool enable_caching_;
    bool events_enabled_;
    bool has_null_block_;
    std::vector<kv::kv_event> events_;  // since the last take_events; empty when off
    int64_t num_evictions_ = 0;
};

}  // namespace actorlm::core

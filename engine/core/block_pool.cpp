// block_pool implementation. Blocks without cached content are pushed to the
// front of the free queue when freed: reusing them first keeps cached prefixes
// alive longer (vLLM appends every freed block at the back).
#include "core/block_pool.hpp"

#include "base/check.hpp"

namespace actorlm::core {

block_pool::block_pool(int32_t num_blocks, bool enable_caching, bool enable_kv_cache_events,
                       bool reserve_null_block)
    : blocks_(static_cast<size_t>(num_blocks)),
      free_(num_blocks),
      enable_caching_(enable_caching),
      events_enabled_(enable_kv_cache_events),
      has_null_block_(reserve_null_block) {
    ACTORLM_CHECK(num_blocks >= (reserve_null_block ? 2 : 1),
                  "block_pool needs at least one usable block, got %d", num_blocks);
    if (has_null_block_) free_.remove(k_null_block);
    if (events_enabled_)
        events_.push_back({kv::kv_event::kind::all_blocks_cleared, {}, k_event_medium});
}

double block_pool::usage() const {
    return 1.0 - static_cast<double>(free_.size()) / static_cast<double>(num_usable_blocks());
}

std::optional<block_hash> block_pool::evict(int32_t block_id) {
    auto& b = blocks_[idx(block_id)];
    if (!b.hash) return std::nullopt;
    std::optional<block_hash> dropped;
    auto it = cached_.find(*b.hash);
    if (it != cached_.end() && it->second == block_id) {
        cached_.erase(it);
        if (b.announced) dropped = b.hash;
    }
    b.hash.reset();
    b.announced = false;
    ++num_evictions_;
    return dropped;
}

std::vector<int32_t> block_pool::get_new_blocks(int32_t n) {
    ACTORLM_CHECK(n <= free_.size(), "get_new_blocks(%d) with %d free", n, free_.size());
    std::vector<int32_t> out;
    out.reserve(static_cast<size_t>(n));
    std::vector<block_hash> removed;  // stays unallocated with events off
    for (int32_t i = 0; i < n; ++i) {
        const int32_t b = free_.pop_front();
        auto dropped = evict(b);
        if (dropped && events_enabled_) removed.push_back(*dropped);
        blocks_[idx(b)].ref_cnt = 1;
        out.push_back(b);
    }
    if (!removed.empty())
        events_.push_back({kv::kv_event::kind::block_removed, std::move(removed), k_event_medium});
    return out;
}

std::optional<int32_t> block_pool::get_cached_block(const block_hash& hash) const {
    auto it = cached_.find(hash);
    if (it == cached_.end()) return std::nullopt;
    return it->second;
}

void block_pool::touch(std::span<const int32_t> block_ids) {
    for (int32_t b : block_ids) {
        if (is_null(b)) continue;
        auto& blk = blocks_[idx(b)];
        if (blk.ref_cnt == 0) free_.remove(b);
        ++blk.ref_cnt;
    }
}

void block_pool::free_blocks(std::span<const int32_t> block_ids) {
    for (int32_t b : block_ids) {
        if (is_null(b)) continue;
        auto& blk = blocks_[idx(b)];
        ACTORLM_CHECK(blk.ref_cnt > 0, "freeing block %d with ref count 0", b);
        if (--blk.ref_cnt == 0) {
            if (blk.hash)
                free_.push_back(b);
            else
                free_.push_front(b);
        }
    }
}

void block_pool::cache_full_blocks(std::span<const int32_t> block_ids,
                                   std::span<const block_hash> hashes, int32_t num_cached,
                                   bool announce) {
    if (!enable_caching_) return;
    ACTORLM_CHECK(hashes.size() <= block_ids.size(), "%zu hashes for %zu blocks", hashes.size(),
                  block_ids.size());
    std::vector<block_hash> stored;  // stays unallocated with events off
    for (size_t i = static_cast<size_t>(num_cached); i < hashes.size(); ++i) {
        // A window drops only blocks registered already, before they leave it.
        ACTORLM_CHECK(!is_null(block_ids[i]), "registering the null block under a hash");
        auto& blk = blocks_[idx(block_ids[i])];
        if (blk.hash) continue;  // a prefix hit: already registered
        // A duplicate (the content is cached in another block) changes nothing, so
        // it is not announced either.
        auto [it, inserted] = cached_.try_emplace(hashes[i], block_ids[i]);
        if (!inserted) continue;
        blk.hash = hashes[i];
        blk.announced = announce && events_enabled_;
        if (blk.announced) stored.push_back(hashes[i]);
    }
    if (!stored.empty())
        events_.push_back({kv::kv_event::kind::block_stored, std::move(stored), k_event_medium});
}

bool block_pool::reset_prefix_cache() {
    if (free_.size() != num_usable_blocks()) return false;
    for (auto& b : blocks_) {
        b.hash.reset();
        b.announced = false;
    }
    cached_.clear();
    if (events_enabled_)
        events_.push_back({kv::kv_event::kind::all_blocks_cleared, {}, k_event_medium});
    return true;
}

std::vector<block_hash> block_pool::cached_hashes() const {
    std::vector<block_hash> out;
    out.reserve(cached_.size());
    for (const auto& [h, b] : cached_) out.push_back(h);
    return out;
}

}  // namespace actorlm::core

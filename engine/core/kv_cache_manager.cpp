// kv_cache_manager implementation. The allocation arithmetic follows vLLM's
// allocate_slots: block indices needed for computed + new + lookahead tokens (capped at
// max_model_len), minus those already held and the prefix hit, times the number of
// groups; free prefix-hit blocks count against the free pool since touching them removes
// them from it. The hit search follows vLLM's HybridKVCacheCoordinator: the full-attention
// groups' run of cached blocks first, then each window's search capped by it, repeated
// until every group agrees on one length.
#include "core/kv_cache_manager.hpp"

#include <algorithm>

#include "base/check.hpp"
#include "core/sliding_window_blocks.hpp"

namespace actorlm::core {

kv_cache_manager::kv_cache_manager(int32_t num_blocks, int32_t block_size, int32_t max_model_len,
                                   bool enable_caching, bool enable_kv_cache_events,
                                   std::vector<int32_t> group_windows)
    : pool_(num_blocks, enable_caching, enable_kv_cache_events,
            any_group_frees_blocks(group_windows)),
      block_size_(block_size),
      max_model_len_(max_model_len),
      windows_(std::move(group_windows)) {
    ACTORLM_CHECK(block_size > 0, "block_size must be positive, got %d", block_size);
    ACTORLM_CHECK(!windows_.empty(), "a KV cache needs at least one group");
    for (int32_t w : windows_) ACTORLM_CHECK(w >= 0, "sliding_window must be >= 0, got %d", w);
}

void kv_cache_manager::remove_skipped_blocks(table& t, int32_t num_computed_tokens) {
    const int32_t groups = num_groups();
    std::vector<int32_t> freed;
    for (int32_t g = 0; g < groups; ++g) {
        const int32_t window = windows_[static_cast<size_t>(g)];
        if (window <= 0) continue;
        const int32_t skipped = std::min(num_skipped_blocks(num_computed_tokens, window, block_size_),
                                         num_indices(t));
        // Tail first among the freed (as free() does), so older blocks are evicted first;
        // the walk stops at the first null entry: everything before it went earlier.
        for (int32_t i = skipped; i-- > 0;) {
            int32_t& b = t.block_ids[static_cast<size_t>(i * groups + g)];
            if (pool_.is_null(b)) break;
            freed.push_back(b);
            b = block_pool::k_null_block;
        }
    }
    pool_.free_blocks(freed);
}

std::vector<int32_t> kv_cache_manager::find_longest_hit(const request& req, int32_t limit) const {
    const int32_t groups = num_groups();
    const auto& hashes = req.block_hashes();
    auto cached = [&](int32_t i, int32_t g) {
        return pool_.get_cached_block(group_block_hash(hashes[static_cast<size_t>(i)], g));
    };
    int32_t length = limit;
    // Full attention: the leading run every full group holds.
    for (int32_t i = 0; i < length; ++i) {
        bool all = true;
        for (int32_t g = 0; g < groups && all; ++g)
            all = windows_[static_cast<size_t>(g)] > 0 || cached(i, g).has_value();
        if (!all) length = i;
    }
    // Each window's longest hit no longer than `length`, until none shortens it: a shorter
    // length moves the blocks a window needs, so every window searches again.
    std::vector<std::vector<int32_t>> window_hits(static_cast<size_t>(groups));
    for (bool changed = true; changed;) {
        changed = false;
        for (int32_t g = 0; g < groups; ++g) {
            const int32_t window = windows_[static_cast<size_t>(g)];
            if (window <= 0) continue;
            auto& h = window_hits[static_cast<size_t>(g)];
            h = find_sliding_window_hit(length, window, block_size_, block_pool::k_null_block,
                                        [&](int32_t i) { return cached(i, g); });
            if (static_cast<int32_t>(h.size()) < length) {
                length = static_cast<int32_t>(h.size());
                changed = true;
            }
        }
    }
    std::vector<int32_t> hit(static_cast<size_t>(length) * static_cast<size_t>(groups));
    for (int32_t i = 0; i < length; ++i)
        for (int32_t g = 0; g < groups; ++g)
            hit[static_cast<size_t>(i * groups + g)] =
                windows_[static_cast<size_t>(g)] > 0
                    ? window_hits[static_cast<size_t>(g)][static_cast<size_t>(i)]
                    : *cached(i, g);
    return hit;
}

computed_blocks kv_cache_manager::get_computed_blocks(const request& req) {
    computed_blocks out;
    if (!pool_.caching_enabled() || req.params().prompt_logprobs >= 0) return out;
    // MEAN and CLS pooling read the hidden states of prompt positions a hit would skip
    // (LAST reads only the last one, which is always computed).
    if (const auto& pooling = req.params().pooling;
        pooling && pooling->type != pooling_params::kind::last)
        return out;
    // At least one token must be computed so the step yields logits for it.
    const int32_t max_hit_blocks = (req.num_tokens() - 1) / block_size_;
    const auto limit = static_cast<int32_t>(std::min(
        static_cast<size_t>(std::max(max_hit_blocks, 0)), req.block_hashes().size()));
    out.block_ids = find_longest_hit(req, limit);
    out.num_tokens = static_cast<int32_t>(out.block_ids.size()) / num_groups() * block_size_;
    return out;
}

std::optional<std::vector<int32_t>> kv_cache_manager::allocate_slots(
    const request& req, int32_t num_new_tokens, const computed_blocks* new_computed,
    int32_t num_lookahead_tokens, bool delay_cache_blocks) {
    ACTORLM_CHECK(num_new_tokens >= 0 && num_lookahead_tokens >= 0,
                  "allocate_slots(%d, lookahead %d)", num_new_tokens, num_lookahead_tokens);
    const int32_t groups = num_groups();
    auto it = tables_.find(req.id());
    // Before counting: the blocks a window left behind are free for this very allocation.
    if (it != tables_.end()) remove_skipped_blocks(it->second, req.num_computed_tokens);
    const int32_t held = it == tables_.end() ? 0 : num_indices(it->second);
    const int32_t num_hit_indices =
        new_computed ? static_cast<int32_t>(new_computed->block_ids.size()) / groups : 0;
    const int32_t num_hit_tokens = new_computed ? new_computed->num_tokens : 0;
    const int32_t num_computed = req.num_computed_tokens + num_hit_tokens;
    const int32_t num_need_slots =
        std::min(num_computed + num_new_tokens + num_lookahead_tokens, max_model_len_);
    const int32_t indices_needed = (num_need_slots + block_size_ - 1) / block_size_;
    const int32_t to_allocate = std::max(indices_needed - held - num_hit_indices, 0) * groups;

    int32_t num_free_hit_blocks = 0;
    if (new_computed)
        for (int32_t b : new_computed->block_ids)
            num_free_hit_blocks += !pool_.is_null(b) && pool_.ref_count(b) == 0;
    if (to_allocate > pool_.num_free_blocks() - num_free_hit_blocks) return std::nullopt;

    if (new_computed && pool_.caching_enabled()) {
        // Counted on admission only: a request stuck at the head of the queue is
        // looked up every step, and each lookup is not a new query.
        stats_.requests += 1;
        stats_.queries += req.num_tokens();
        stats_.hits += num_hit_tokens;
    }
    if (it == tables_.end()) it = tables_.emplace(req.id(), table{}).first;
    table& t = it->second;
    if (num_hit_indices > 0) {
        pool_.touch(new_computed->block_ids);
        t.block_ids.insert(t.block_ids.end(), new_computed->block_ids.begin(),
                           new_computed->block_ids.end());
        // Hit blocks are registered already.
        t.num_cached_blocks = std::max(t.num_cached_blocks, num_indices(t));
    }
    std::vector<int32_t> fresh;
    if (to_allocate > 0) {
        fresh = pool_.get_new_blocks(to_allocate);
        t.block_ids.insert(t.block_ids.end(), fresh.begin(), fresh.end());
    }
    if (!delay_cache_blocks) cache_table_blocks(req, t, num_computed + num_new_tokens);
    return fresh;
}

void kv_cache_manager::cache_table_blocks(const request& req, table& t, int32_t num_tokens) {
    if (!pool_.caching_enabled()) return;
    // Only blocks whose tokens are all known can be named by their content.
    const int32_t num_known = std::min(num_tokens, req.num_tokens());
    const auto num_full = static_cast<int32_t>(
        std::min({static_cast<size_t>(num_known / block_size_), req.block_hashes().size(),
                  static_cast<size_t>(num_indices(t))}));
    if (num_full <= t.num_cached_blocks) return;
    const int32_t groups = num_groups();
    const auto hashes = std::span(req.block_hashes()).first(static_cast<size_t>(num_full));
    if (groups == 1) {
        pool_.cache_full_blocks(t.block_ids, hashes, t.num_cached_blocks);
    } else {
        std::vector<int32_t> ids(static_cast<size_t>(num_full));
        std::vector<block_hash> keys(static_cast<size_t>(num_full));
        for (int32_t g = 0; g < groups; ++g) {
            for (int32_t i = t.num_cached_blocks; i < num_full; ++i) {
                ids[static_cast<size_t>(i)] = t.block_ids[static_cast<size_t>(i * groups + g)];
                keys[static_cast<size_t>(i)] = group_block_hash(hashes[static_cast<size_t>(i)], g);
            }
            pool_.cache_full_blocks(ids, keys, t.num_cached_blocks, g == 0);
        }
    }
    t.num_cached_blocks = num_full;
}

void kv_cache_manager::cache_blocks(const request& req, int32_t num_computed_tokens) {
    auto it = tables_.find(req.id());
    if (it != tables_.end()) cache_table_blocks(req, it->second, num_computed_tokens);
}

void kv_cache_manager::free(const request& req) { release(req.id()); }

void kv_cache_manager::hold(const std::string& holder, std::span<const int32_t> block_ids) {
    ACTORLM_CHECK(!tables_.count(holder), "a block table named '%s' exists already",
                  holder.c_str());
    pool_.touch(block_ids);
    table& t = tables_[holder];
    t.block_ids.assign(block_ids.begin(), block_ids.end());
    t.num_cached_blocks = num_indices(t);
}

void kv_cache_manager::release(const std::string& holder) {
    auto it = tables_.find(holder);
    if (it == tables_.end()) return;
    std::vector<int32_t>& ids = it->second.block_ids;
    std::reverse(ids.begin(), ids.end());
    pool_.free_blocks(ids);
    tables_.erase(it);
}

std::span<const int32_t> kv_cache_manager::block_ids(const std::string& request_id) const {
    auto it = tables_.find(request_id);
    if (it == tables_.end()) return {};
    return it->second.block_ids;
}

}  // namespace actorlm::core

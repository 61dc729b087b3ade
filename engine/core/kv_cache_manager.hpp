// kv_cache_manager: maps requests to KV block tables (vLLM's KVCacheManager with its
// coordinator): longest cached prefix lookup, slot allocation that answers std::nullopt
// when blocks run out (the scheduler then preempts), freeing tail first, and prefix-cache
// counters. Layers form KV-cache groups (model/kv_cache_layout.hpp), each full attention
// or one sliding window; one group unless a model mixes both. A request's table holds,
// for each block index i (tokens [i * block_size, (i + 1) * block_size)), one block per
// group: entry i * num_groups + g. Under a sliding window the blocks no future query reads
// are given back as the request advances and stand as the pool's null block in its group's
// entries (sliding_window_blocks.hpp). Single-threaded (owned by scheduler).
// Invariant: every non-null block in a table holds one reference from it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/block_pool.hpp"
#include "core/request.hpp"

namespace actorlm::core {

/// A prefix hit: cached blocks, num_groups per block index, and the tokens they cover.
struct computed_blocks {
    std::vector<int32_t> block_ids;
    int32_t num_tokens = 0;
};

/// Prefix cache counters in tokens, as vLLM reports them (hit rate = hits / queries).
struct prefix_cache_stats {
    int64_t requests = 0;
    int64_t queries = 0;  ///< prompt (or full, after preemption) tokens looked up
    int64_t hits = 0;     ///< tokens found cached
};

class kv_cache_manager {
public:
    /// `num_blocks` blocks of `block_size` tokens; no table grows beyond `max_model_len` tokens.
    /// `enable_kv_cache_events`: the pool records its prefix-cache changes (take_events).
    /// `group_windows`: one entry per KV-cache group, its sliding window or 0 for full
    /// attention; blocks that left a window are freed (one block is then the null block).
    kv_cache_manager(int32_t num_blocks, int32_t block_size, int32_t max_model_len,
                     bool enable_caching = true, bool enable_kv_cache_events = false,
                     std::vector<int32_t> group_windows = {0});

    /// The longest run of cached full blocks that prefixes `req`'s tokens, leaving at
    /// least the last token to compute (its logits are needed); under a sliding window
    /// only the run's blocks inside the window of its end must be cached, the others are
    /// null entries, and with several groups the hit is the longest every group can serve
    /// (vLLM's fixed-point search). Empty with caching
    /// off or when prompt logprobs are requested (they need every prompt position).
    /// Takes no references and counts nothing: pass the result to allocate_slots in
    /// the same step, which counts the lookup in stats() when it succeeds.
    computed_blocks get_computed_blocks(const request& req);

    /// Makes room for `num_new_tokens` more tokens of `req` (after its computed ones
    /// and the `new_computed` prefix hit) plus `num_lookahead_tokens`, first freeing the
    /// blocks its sliding window left behind (if any). Returns the
    /// newly allocated block ids (possibly none), or std::nullopt if the pool cannot
    /// supply them, in which case nothing changed. Registers newly full blocks in the
    /// prefix cache unless `delay_cache_blocks` (their content is still loading from
    /// a KV connector: cache_blocks registers them once it is there).
    std::optional<std::vector<int32_t>> allocate_slots(
        const request& req, int32_t num_new_tokens, const computed_blocks* new_computed = nullptr,
        int32_t num_lookahead_tokens = 0, bool delay_cache_blocks = false);

    /// Registers the full blocks among `req`'s first `num_computed_tokens` tokens in
    /// the prefix cache (after an asynchronous load filled them).
    void cache_blocks(const request& req, int32_t num_computed_tokens);

    /// Releases every block of `req` (tail first, so its tail is evicted first);
    /// cached ones stay prefix hits until evicted. No-op if it holds none.
    void free(const request& req);
    /// Takes one reference to each of `block_ids` for `holder`, a table that belongs to
    /// no request (another engine reading them, e.g. a live migration's pre-copy):
    /// they are neither evicted nor reused until release(holder). `holder` must not name
    /// a table already.
    void hold(const std::string& holder, std::span<const int32_t> block_ids);
    /// Drops the references of the table named `holder` (a request's id or a hold's);
    /// no-op if there is none.
    void release(const std::string& holder);

    /// The block table of a request (empty if it holds none).
    std::span<const int32_t> block_ids(const std::string& request_id) const;
    /// Fraction of usable blocks in use, 0..1.
    double usage() const { return pool_.usage(); }
    int32_t num_groups() const { return static_cast<int32_t>(windows_.size()); }
    /// Group `g`'s sliding window, whose blocks are freed behind it; 0: full attention.
    int32_t group_window(int32_t g) const { return windows_[static_cast<size_t>(g)]; }
    int32_t block_size() const { return block_size_; }
    int32_t num_blocks() const { return pool_.num_blocks(); }
    int32_t num_free_blocks() const { return pool_.num_free_blocks(); }
    bool caching_enabled() const { return pool_.caching_enabled(); }
    const prefix_cache_stats& stats() const { return stats_; }
    const block_pool& pool() const { return pool_; }
    /// All block tables (invariant checks).
    template <class F>
    void for_each_table(F&& f) const {
        for (const auto& [id, t] : tables_) f(id, std::span<const int32_t>(t.block_ids));
    }
    /// Drops all cached hashes; false while any block is in use.
    bool reset_prefix_cache() { return pool_.reset_prefix_cache(); }
    /// The device prefix cache's KV events since the last call (block_pool::take_events).
    std::vector<kv::kv_event> take_events() { return pool_.take_events(); }

private:
    struct table {
        std::vector<int32_t> block_ids;  // num_groups entries per block index
        int32_t num_cached_blocks = 0;   // leading block indices registered in the cache
    };
    int32_t num_indices(const table& t) const {
        return static_cast<int32_t>(t.block_ids.size()) / num_groups();
    }
    void cache_table_blocks(const request& req, table& t, int32_t num_tokens);
    /// For each sliding-window group: frees the table's blocks before the window of its
    /// next query, which stand as the null block from then on.
    void remove_skipped_blocks(table& t, int32_t num_computed_tokens);
    /// The longest hit of at most `limit` block indices, as interleaved block ids.
    std::vector<int32_t> find_longest_hit(const request& req, int32_t limit) const;

    block_pool pool_;
    int32_t block_size_;
    int32_t max_model_len_;
    std::vector<int32_t> windows_;  // per group
    std::unordered_map<std::string, table> tables_;
    prefix_cache_stats stats_;
};

}  // namespace actorlm::core

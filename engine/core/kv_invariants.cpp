// kv_invariants implementation: recounts references from the block tables and
// compares them with the pool; O(blocks + table entries).
#include "core/kv_invariants.hpp"

#include <algorithm>
#include <vector>

namespace actorlm::core {

namespace {

/// A table holds num_groups entries per block index; the null block stands only in a
/// window group, before the first position its next query reads (`r` is null for a table
/// no running request owns, whose windows are not checked).
status check_group_entries(const kv_cache_manager& kv, const std::string& id, const request* r,
                           std::span<const int32_t> blocks) {
    const int32_t groups = kv.num_groups();
    if (blocks.size() % static_cast<size_t>(groups) != 0)
        return make_error("request '%s' holds %zu blocks for %d groups", id.c_str(),
                          blocks.size(), groups);
    for (int32_t g = 0; g < groups; ++g) {
        const int32_t window = kv.group_window(g);
        if (window > 0 && !r) continue;
        const int32_t first_read =
            window > 0 ? std::max(r->num_computed_tokens - window + 1, 0) / kv.block_size() : 0;
        for (size_t i = static_cast<size_t>(first_read * groups + g); i < blocks.size();
             i += static_cast<size_t>(groups))
            if (kv.pool().is_null(blocks[i]))
                return make_error("request '%s': block %zu of its table is null but %s",
                                  id.c_str(), i,
                                  window == 0 ? "its group attends fully"
                                              : "its window still reads it");
    }
    return status::success();
}

}  // namespace

status check_kv_invariants(const scheduler& s) {
    const kv_cache_manager& kv = s.kv();
    const block_pool& pool = kv.pool();
    std::vector<int32_t> refs(static_cast<size_t>(pool.num_blocks()), 0);
    int32_t num_tables = 0;
    int32_t num_deferred = 0;
    status bad;
    kv.for_each_table([&](const std::string& id, std::span<const int32_t> blocks) {
        ++num_tables;
        if (s.holds_deferred_blocks(id)) {  // finished; a KV connector still uses its blocks
            ++num_deferred;
        } else {
            const request* r = s.find(id);
            if (!r && bad) bad = make_error("block table of unknown request '%s'", id.c_str());
            // With a KV connector, waiting requests hold blocks while (and after) they load.
            if (r && r->status != request_status::running && s.kv_connector() == nullptr && bad)
                bad = make_error("request '%s' is %s yet holds %zu blocks", id.c_str(),
                                 request_status_name(r->status), blocks.size());
            if (r && bad) {
                const int32_t need =
                    (r->num_computed_tokens + kv.block_size() - 1) / kv.block_size();
                if (static_cast<int32_t>(blocks.size()) / kv.num_groups() < need)
                    bad = make_error("request '%s' has %d computed tokens but only %zu blocks",
                                     id.c_str(), r->num_computed_tokens, blocks.size());
            }
        }
        if (bad) bad = check_group_entries(kv, id, s.find(id), blocks);
        for (int32_t b : blocks) {
            if (pool.is_null(b)) continue;  // a block a sliding window gave back
            if (b < 0 || b >= pool.num_blocks()) {
                if (bad)
                    bad = make_error("request '%s' holds block id %d out of range", id.c_str(), b);
                continue;
            }
            ++refs[static_cast<size_t>(b)];
        }
    });
    if (!bad) return bad;
    const int32_t may_hold =
        s.num_running() + num_deferred + (s.kv_connector() != nullptr ? s.num_waiting() : 0);
    if (num_tables > may_hold)
        return make_error("%d block tables for %d running requests", num_tables, s.num_running());
    int32_t num_free = 0;
    for (int32_t b = 0; b < pool.num_blocks(); ++b) {
        if (pool.is_null(b)) {
            if (pool.ref_count(b) != 0 || pool.free_queue().contains(b) || pool.hash_of(b))
                return make_error("the null block is referenced, free or cached");
            continue;
        }
        const int32_t rc = pool.ref_count(b);
        if (rc != refs[static_cast<size_t>(b)])
            return make_error("block %d: ref count %d but %d tables hold it", b, rc,
                              refs[static_cast<size_t>(b)]);
        if ((rc == 0) != pool.free_queue().contains(b))
            return make_error("block %d: ref count %d but %s the free queue", b, rc,
                              rc == 0 ? "not in" : "in");
        num_free += rc == 0;
        if (const auto& h = pool.hash_of(b)) {
            auto cached = pool.get_cached_block(*h);
            if (!cached || *cached != b)
                return make_error("block %d has a hash the cache does not map back to it", b);
        }
    }
    if (num_free != pool.num_free_blocks())
        return make_error("%d blocks have ref count 0 but the free queue holds %d", num_free,
                          pool.num_free_blocks());
    if (!s.has_unfinished_requests() && pool.num_used_blocks() != 0)
        return make_error("no requests left but %d of %d blocks are not free",
                          pool.num_used_blocks(), pool.num_usable_blocks());
    return status::success();
}

}  // namespace actorlm::core

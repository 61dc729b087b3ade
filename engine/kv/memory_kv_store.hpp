// memory_kv_store: the host-memory tier of KV blocks (vLLM's CPU offloading tier).
// One arena of capacity_bytes / payload_bytes() block slots is allocated up front
// (see create()); blocks are indexed by hash with LRU eviction, and every copy into
// or out of a slot runs on the store's own thread (on CUDA a load is a host->device
// transfer, which must not run on the scheduler's or the worker's thread). The
// other methods are thread-safe and only touch the index under a mutex.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/result.hpp"
#include "core/block_hash.hpp"
#include "kv/kv_block_store.hpp"
#include "kv/tier_io_thread.hpp"

namespace actorlm::kv {

class memory_kv_store final : public kv_block_store {
public:
    struct options {
        int64_t capacity_bytes = 0;  ///< arena bytes: capacity_bytes / payload_bytes() slots
        size_t layer_bytes = 0;      ///< one block's bytes in one layer (kv_block_io)
        int64_t num_layers = 0;
    };
    /// Allocates the whole arena now, as vLLM preallocates its pinned CPU blocks: the
    /// tier's footprint is fixed and known at start-up, a save never allocates, and
    /// slots are reused in place (no fragmentation after hours of churn). The pages
    /// are not touched here, so the OS commits them as blocks are first stored.
    /// Fails when the capacity holds no block or the allocation fails.
    static result<std::shared_ptr<memory_kv_store>> create(const options& opts);
    /// Finishes queued saves and loads, then frees the arena.
    ~memory_kv_store() override = default;
    memory_kv_store(const memory_kv_store&) = delete;
    memory_kv_store& operator=(const memory_kv_store&) = delete;

    /// Whether `h` is stored (it may still be evicted before a load reaches it).
    bool contains(const core::block_hash& h) const override;
    bool reserve_save(const core::block_hash& h) override;
    void cancel_save(const core::block_hash& h) override;
    /// Copies `payload` into a slot on the store's thread, evicting the least
    /// recently used block that no queued load holds when every slot is taken (none:
    /// the save is skipped, saves_skipped).
    void save_async(const core::block_hash& h, std::vector<uint8_t> payload) override;
    /// Copies the blocks into `io` on the store's thread. The blocks stored now are
    /// held until then, so no save evicts them in between (vLLM's CPU manager holds
    /// blocks being loaded the same way); a block already gone, or a copy `io`
    /// reports failed, ends the load there (load_errors).
    void load_async(std::string req_id, std::vector<load_block> blocks, kv_block_io* io) override;
    std::vector<load_result> take_finished_loads() override;

    void flush() override;
    kv_connector_stats stats() const override;
    std::vector<kv_event> take_events() override;
    size_t payload_bytes() const override {
        return opts_.layer_bytes * static_cast<size_t>(opts_.num_layers);
    }
    /// Blocks the arena holds at most.
    int64_t num_slots() const { return num_slots_; }

private:
    explicit memory_kv_store(const options& opts, int64_t num_slots,
                             std::unique_ptr<uint8_t[]> arena);
    uint8_t* slot_data(int32_t slot) const;
    // I/O thread only:
    void do_save(const core::block_hash& h, const std::vector<uint8_t>& payload);
    void do_load(std::string& req_id, const std::vector<load_block>& blocks,
                 const std::vector<bool>& held, kv_block_io* io);
    // Under mu_:
    // By value: callers pass hashes that live in lru_, whose node the erase frees.
    void erase_locked(core::block_hash h, bool evicted);

    struct entry {
        int32_t slot = 0;
        int32_t holds = 0;  // queued loads that will read it: not evictable while > 0
        std::list<core::block_hash>::iterator lru;
    };

    options opts_;
    int64_t num_slots_ = 0;
    std::unique_ptr<uint8_t[]> arena_;  // [slot][layer][layer_bytes]; only the I/O thread copies
    mutable std::mutex mu_;
    std::list<core::block_hash> lru_;  // front = least recently used
    std::unordered_map<core::block_hash, entry, core::block_hash_hasher> index_;
    std::unordered_set<core::block_hash, core::block_hash_hasher> pending_;
    std::vector<int32_t> free_slots_;
    std::vector<load_result> finished_loads_;
    std::vector<kv_event> events_;
    kv_connector_stats stats_;
    tier_io_thread io_;  // last: destroyed first, so queued jobs still find the arena
};

}  // namespace actorlm::kv

// disk_kv_store: the local disk tier of KV blocks. One file per block, named by its
// hash, holding a header (magic, hash, payload size, XXH3-64 checksum) and the
// block's bytes for every layer. The directory is the index: open() rescans it, so
// a restarted engine finds every block an earlier one saved (oldest file first in
// the LRU). Capacity-bounded with LRU eviction; a block whose size or checksum is
// wrong is a miss (counted, deleted), never reported loaded; into a host cache a
// load reads the file straight into the blocks' memory (kv_block_io::host_memory).
// A failed write stops saving with one warning and serving continues. All file I/O
// runs on the store's own thread, in submission order; the other methods are
// thread-safe and never block on I/O. Engines on one host may share a directory
// (each write has its own temporary name and lands by an atomic rename).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/block_hash.hpp"
#include "kv/kv_block_store.hpp"
#include "kv/tier_io_thread.hpp"
#include "base/result.hpp"

namespace actorlm::kv {

class disk_kv_store final : public kv_block_store {
public:
    struct options {
        std::string dir;             ///< created if missing
        int64_t capacity_bytes = 0;  ///< files (header + payload) at most this many bytes
        size_t layer_bytes = 0;      ///< one block's bytes in one layer (kv_block_io)
        int64_t num_layers = 0;
    };
    /// Opens (creating) `dir` and indexes the valid block files in it.
    static result<std::shared_ptr<disk_kv_store>> open(const options& opts);
    /// Finishes queued saves and loads, then stops the I/O thread.
    ~disk_kv_store();
    disk_kv_store(const disk_kv_store&) = delete;
    disk_kv_store& operator=(const disk_kv_store&) = delete;

    /// Whether a block file for `h` is indexed (loadable).
    bool contains(const core::block_hash& h) const override;
    bool reserve_save(const core::block_hash& h) override;
    void cancel_save(const core::block_hash& h) override;
    /// Writes one block on the I/O thread.
    void save_async(const core::block_hash& h, std::vector<uint8_t> payload) override;
    /// Reads the blocks into `io` on the I/O thread.
    void load_async(std::string req_id, std::vector<load_block> blocks, kv_block_io* io) override;
    std::vector<load_result> take_finished_loads() override;

    void flush() override;
    kv_connector_stats stats() const override;
    std::vector<kv_event> take_events() override;
    size_t payload_bytes() const override {
        return opts_.layer_bytes * static_cast<size_t>(opts_.num_layers);
    }
    /// Every indexed block, least recently used first (a shared store's snapshot).
    std::vector<core::block_hash> hashes() const;
    /// Bytes of one block file (header + payload).
    size_t file_bytes() const;
    const std::string& dir() const { return opts_.dir; }

private:
    explicit disk_kv_store(const options& opts);
    void submit(std::function<void()> job);
    std::string path_of(const core::block_hash& h) const;
    // I/O thread only:
    void do_save(const core::block_hash& h, const std::vector<uint8_t>& payload);
    // Reads h's file into `dst` (payload_bytes() in all, file order) with one preadv and
    // checks header, size and checksum over `dst`; false (a miss) on any mismatch.
    bool read_block(const core::block_hash& h, std::span<const std::span<uint8_t>> dst);
    // One block into `io`: straight into its host memory, else through `buf` and
    // write_block_layer; false when the file failed its checks.
    bool load_one_block(const load_block& b, kv_block_io& io, std::vector<uint8_t>& buf,
                        std::vector<std::span<uint8_t>>& pieces);
    // Under mu_:
    void index_insert_locked(const core::block_hash& h);
    // By value: callers pass hashes that live in lru_, whose node the erase frees.
    void index_erase_locked(core::block_hash h, bool evicted);

    options opts_;
    mutable std::mutex mu_;
    bool saving_stopped_ = false;
    std::list<core::block_hash> lru_;  // front = least recently used
    std::unordered_map<core::block_hash, std::list<core::block_hash>::iterator,
                       core::block_hash_hasher>
        index_;
    std::unordered_set<core::block_hash, core::block_hash_hasher> pending_;
    std::vector<load_result> finished_loads_;
    std::vector<kv_event> events_;
    kv_connector_stats stats_;
    std::unique_ptr<tier_io_thread> io_;  // the file I/O; last, so it stops first
};

}  // namespace actorlm::kv

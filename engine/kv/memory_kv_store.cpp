// memory_kv_store implementation. Slots change owner only on the I/O thread (a save
// takes a free slot or evicts the LRU block's), so a load job, which runs on the same
// thread, never sees a slot overwritten under it; the mutex guards only the index,
// the LRU order and the counters that the scheduler's and worker's threads read.
#include "kv/memory_kv_store.hpp"
#include "base/elapsed.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>

namespace actorlm::kv {
namespace {

constexpr const char* k_medium = "cpu";

}  // namespace

result<std::shared_ptr<memory_kv_store>> memory_kv_store::create(const options& opts) {
    if (opts.layer_bytes == 0 || opts.num_layers <= 0)
        return make_error("host-memory KV tier: the KV cache has no bytes per block");
    const int64_t block_bytes = static_cast<int64_t>(opts.layer_bytes) * opts.num_layers;
    if (opts.capacity_bytes < block_bytes)
        return make_error(
            "host-memory KV tier: cpu_bytes_to_use (%lld bytes) holds no block of %lld bytes",
            static_cast<long long>(opts.capacity_bytes), static_cast<long long>(block_bytes));
    const int64_t slots = std::min<int64_t>(opts.capacity_bytes / block_bytes, INT32_MAX);
    // Default-initialized (not zeroed): untouched pages stay uncommitted until used.
    std::unique_ptr<uint8_t[]> arena(new (std::nothrow)
                                         uint8_t[static_cast<size_t>(slots * block_bytes)]);
    if (!arena)
        return make_error("host-memory KV tier: cannot allocate %lld bytes (cpu_bytes_to_use)",
                          static_cast<long long>(slots * block_bytes));
    return std::shared_ptr<memory_kv_store>(new memory_kv_store(opts, slots, std::move(arena)));
}

memory_kv_store::memory_kv_store(const options& opts, int64_t num_slots,
                                 std::unique_ptr<uint8_t[]> arena)
    : opts_(opts), num_slots_(num_slots), arena_(std::move(arena)) {
    free_slots_.reserve(static_cast<size_t>(num_slots));
    for (int64_t s = num_slots - 1; s >= 0; --s) free_slots_.push_back(static_cast<int32_t>(s));
}

uint8_t* memory_kv_store::slot_data(int32_t slot) const {
    return arena_.get() + static_cast<size_t>(slot) * payload_bytes();
}

void memory_kv_store::erase_locked(core::block_hash h, bool evicted) {
    auto it = index_.find(h);
    if (it == index_.end()) return;
    lru_.erase(it->second.lru);
    free_slots_.push_back(it->second.slot);
    index_.erase(it);
    stats_.blocks_stored -= 1;
    stats_.bytes_stored -= static_cast<int64_t>(payload_bytes());
    if (evicted) ++stats_.evictions;
    events_.push_back(kv_event{kv_event::kind::block_removed, {h}, k_medium});
}

bool memory_kv_store::contains(const core::block_hash& h) const {
    std::lock_guard lock(mu_);
    return index_.count(h) != 0;
}

bool memory_kv_store::reserve_save(const core::block_hash& h) {
    std::lock_guard lock(mu_);
    if (index_.count(h) || pending_.count(h)) return false;
    pending_.insert(h);
    return true;
}

void memory_kv_store::cancel_save(const core::block_hash& h) {
    std::lock_guard lock(mu_);
    pending_.erase(h);
}

void memory_kv_store::save_async(const core::block_hash& h, std::vector<uint8_t> payload) {
    io_.submit([this, h, p = std::move(payload)] { do_save(h, p); });
}

void memory_kv_store::do_save(const core::block_hash& h, const std::vector<uint8_t>& payload) {
    const auto t0 = std::chrono::steady_clock::now();
    int32_t slot = 0;
    {
        std::lock_guard lock(mu_);
        pending_.erase(h);
        if (payload.size() != payload_bytes() || index_.count(h)) {
            ++stats_.saves_skipped;
            return;
        }
        if (free_slots_.empty()) {
            auto victim = std::find_if(lru_.begin(), lru_.end(),
                                       [&](const auto& v) { return index_.at(v).holds == 0; });
            if (victim == lru_.end()) {  // every block is about to be loaded
                ++stats_.saves_skipped;
                return;
            }
            erase_locked(*victim, true);
        }
        slot = free_slots_.back();
        free_slots_.pop_back();
    }
    // Outside the lock: the slot is in neither the index nor the free list, so no
    // one else reaches it, and lookups do not wait for a block-sized copy.
    std::memcpy(slot_data(slot), payload.data(), payload.size());
    std::lock_guard lock(mu_);
    lru_.push_back(h);
    index_[h] = entry{slot, 0, std::prev(lru_.end())};
    stats_.blocks_stored += 1;
    stats_.bytes_stored += static_cast<int64_t>(payload_bytes());
    stats_.blocks_saved += 1;
    stats_.bytes_saved += static_cast<int64_t>(payload.size());
    stats_.save_seconds += seconds_since(t0);
    events_.push_back(kv_event{kv_event::kind::block_stored, {h}, k_medium});
}

void memory_kv_store::load_async(std::string req_id, std::vector<load_block> blocks,
                                 kv_block_io* io) {
    std::vector<bool> held(blocks.size(), false);
    {
        std::lock_guard lock(mu_);
        for (size_t i = 0; i < blocks.size(); ++i)
            if (auto it = index_.find(blocks[i].hash); it != index_.end()) {
                ++it->second.holds;
                held[i] = true;
            }
    }
    io_.submit([this, id = std::move(req_id), b = std::move(blocks), h = std::move(held),
                io]() mutable { do_load(id, b, h, io); });
}

void memory_kv_store::do_load(std::string& req_id, const std::vector<load_block>& blocks,
                              const std::vector<bool>& held, kv_block_io* io) {
    const auto t0 = std::chrono::steady_clock::now();
    load_result res;
    res.req_id = std::move(req_id);
    size_t i = 0;
    for (; i < blocks.size(); ++i) {
        int32_t slot = -1;
        {
            std::lock_guard lock(mu_);
            if (auto it = index_.find(blocks[i].hash); it != index_.end()) {
                slot = it->second.slot;
                lru_.splice(lru_.end(), lru_, it->second.lru);  // most recently used
            }
        }
        if (slot < 0) break;  // evicted since the lookup: recomputed from here
        const uint8_t* src = slot_data(slot);
        for (int64_t l = 0; l < opts_.num_layers; ++l)
            io->write_block_layer(
                l, blocks[i].block_id,
                std::span<const uint8_t>(src + static_cast<size_t>(l) * opts_.layer_bytes,
                                         opts_.layer_bytes));
        if (!io->io_error().ok()) break;  // the device copy failed: not loaded
    }
    const int64_t loaded = static_cast<int64_t>(i);
    for (size_t k = i; k < blocks.size(); ++k) res.invalid_block_ids.push_back(blocks[k].block_id);
    std::lock_guard lock(mu_);
    for (size_t k = 0; k < blocks.size(); ++k)
        if (held[k]) --index_.at(blocks[k].hash).holds;  // held: never evicted meanwhile
    if (i < blocks.size()) ++stats_.load_errors;
    stats_.blocks_loaded += loaded;
    stats_.bytes_loaded += loaded * static_cast<int64_t>(payload_bytes());
    stats_.load_seconds += seconds_since(t0);
    finished_loads_.push_back(std::move(res));
}

std::vector<memory_kv_store::load_result> memory_kv_store::take_finished_loads() {
    std::lock_guard lock(mu_);
    return std::exchange(finished_loads_, {});
}

void memory_kv_store::flush() { io_.flush(); }

kv_connector_stats memory_kv_store::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

std::vector<kv_event> memory_kv_store::take_events() {
    std::lock_guard lock(mu_);
    return std::exchange(events_, {});
}

}  // namespace actorlm::kv

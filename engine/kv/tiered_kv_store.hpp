// tiered_kv_store: one kv_block_store over an ordered list of tiers, fastest first
// (host memory in front of disk). contains() asks every tier; a load takes each
// block from the fastest tier holding it, and a block that came from a slower tier
// is promoted into the faster ones as it is copied (on the slower tier's thread, from
// the bytes it already read); a save is written through to every tier that lacks the
// block, so a restart still finds the disk copy. Thread-safe like every tier; it runs
// no thread of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"
#include "kv/kv_block_store.hpp"

namespace actorlm::kv {

class tiered_kv_store final : public kv_block_store {
public:
    /// `tiers` fastest first (at most 32), all with the same payload_bytes().
    static result<std::shared_ptr<tiered_kv_store>> create(
        std::vector<std::shared_ptr<kv_block_store>> tiers);
    ~tiered_kv_store() override;

    bool contains(const core::block_hash& h) const override;
    /// Reserves `h` in every tier that neither holds it nor saves it already; true
    /// if any did (save_async / cancel_save then go to exactly those tiers).
    bool reserve_save(const core::block_hash& h) override;
    void cancel_save(const core::block_hash& h) override;
    void save_async(const core::block_hash& h, std::vector<uint8_t> payload) override;
    /// Splits the chain into runs served by one tier each; the result is the
    /// request's, with every block from the first failed one on invalid.
    void load_async(std::string req_id, std::vector<load_block> blocks, kv_block_io* io) override;
    std::vector<load_result> take_finished_loads() override;

    /// Flushes the slowest tier first: its loads may queue promotions in faster ones.
    void flush() override;
    /// Sums over the tiers: a block written to two tiers counts as two saves (and
    /// its bytes twice), a promotion as a save into the faster tier.
    kv_connector_stats stats() const override;
    /// Every tier's events (each names its medium).
    std::vector<kv_event> take_events() override;
    size_t payload_bytes() const override { return tiers_.front()->payload_bytes(); }

    /// Each tier's own counters, fastest first.
    std::vector<kv_connector_stats> tier_stats() const;
    const std::vector<std::shared_ptr<kv_block_store>>& tiers() const { return tiers_; }

private:
    class promoting_io;
    struct part {
        std::string req_id;
        size_t first = 0;                  // index of the part's first block in the request's chain
        std::unique_ptr<promoting_io> io;  // null when read from the fastest tier
    };
    struct pending_load {
        std::vector<load_block> blocks;
        int32_t parts_left = 0;
        size_t first_invalid = 0;  // index into blocks; blocks.size() = none yet
    };

    explicit tiered_kv_store(std::vector<std::shared_ptr<kv_block_store>> tiers);

    std::vector<std::shared_ptr<kv_block_store>> tiers_;
    mutable std::mutex mu_;
    std::unordered_map<core::block_hash, uint32_t, core::block_hash_hasher> reserved_;  // tier bits
    std::unordered_map<std::string, part> parts_;            // by the tier's sub-request id
    std::unordered_map<std::string, pending_load> pending_;  // by the caller's request id
    std::vector<load_result> finished_;
    uint64_t next_part_ = 0;
};

}  // namespace actorlm::kv

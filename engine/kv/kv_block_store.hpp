// kv_block_store: a tier that holds KV blocks by hash (the local disk tier, host
// memory, a shared store reached over the network). A connector's scheduler side
// asks it what it holds and reserves saves; its worker side moves bytes between
// the tier and a backend's cache (kv_block_io). Every method is thread-safe and
// never blocks on I/O: saves and loads run on the tier's own threads and loads
// report completion through take_finished_loads().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/block_hash.hpp"
#include "kv/kv_block_io.hpp"
#include "kv/kv_connector.hpp"

namespace actorlm::kv {

class kv_block_store {
public:
    virtual ~kv_block_store() = default;

    /// Whether a block for `h` can be loaded now (a hint: a load may still fail,
    /// and then reports the block invalid).
    virtual bool contains(const core::block_hash& h) const = 0;
    /// Marks `h` as about to be saved unless the tier holds it or a save is
    /// pending; true if the caller should save it (then it must call save_async
    /// or cancel_save).
    virtual bool reserve_save(const core::block_hash& h) = 0;
    virtual void cancel_save(const core::block_hash& h) = 0;
    /// Stores one block (payload_bytes() bytes: every layer, kv_block_io order).
    virtual void save_async(const core::block_hash& h, std::vector<uint8_t> payload) = 0;

    struct load_block {
        core::block_hash hash;
        int32_t block_id = 0;
    };
    struct load_result {
        std::string req_id;
        std::vector<int32_t> invalid_block_ids;  ///< failed blocks and every one after them
    };
    /// Copies the blocks into `io`; the result appears in take_finished_loads().
    /// `io` must outlive the load.
    virtual void load_async(std::string req_id, std::vector<load_block> blocks,
                            kv_block_io* io) = 0;
    virtual std::vector<load_result> take_finished_loads() = 0;

    /// Waits until every queued save and load is done (tests; shutdown).
    virtual void flush() = 0;
    virtual kv_connector_stats stats() const = 0;
    /// Block stored / removed events since the last call.
    virtual std::vector<kv_event> take_events() = 0;
    /// Bytes of one block's payload.
    virtual size_t payload_bytes() const = 0;
};

}  // namespace actorlm::kv

// kv_store_actor: the shared KV store (`actorlm kv-store`, Mooncake Store / LMCache
// server in spirit): KV blocks by block hash as opaque byte payloads, in a memory
// LRU bounded in bytes, optionally over one disk tier per payload size. Engines on
// many hosts reach it through the middleman (kv_store_client). Scheduled actor; disk
// I/O runs on the disk tiers' own threads. It never trusts a client: sizes are
// checked against what the client declared, a block never pushes it over capacity,
// and malformed requests are answered with errors. It monitors its subscribers
// (a dead one is dropped) and links to nobody.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "base/result.hpp"

namespace actorlm::actors {

/// The store's typed interface. Every payload travels as std::vector<char> (one
/// memcpy through CAF's serializer, never element by element).
using kv_store_actor = caf::typed_actor<
    // How many leading blocks of a hash chain the store holds (memory or disk).
    caf::replies_to<kvs_lookup_atom, std::vector<core::block_hash>>::with<int32_t>,
    // The leading held blocks of `hashes`, each exactly `payload_bytes` long:
    // their payloads concatenated and their count. A block stored with another
    // size ends the chain (a miss).
    caf::replies_to<kvs_load_atom, std::vector<core::block_hash>, int64_t>::with<std::vector<char>,
                                                                                 int32_t>,
    // Stores one block: (hash, declared payload bytes, payload). True once held;
    // kv_store_errc::bad_size / too_large when the payload is refused.
    caf::replies_to<kvs_save_atom, core::block_hash, int64_t, std::vector<char>>::with<bool>,
    caf::replies_to<stats_atom>::with<kv_store_stats>,
    // Subscribes the sender to the blocks of one payload size: the reply lists the
    // hashes held now; kv_store_event messages (kvs_event_atom, kv_store_event)
    // follow for every change, in order after the reply. Subscribing again only
    // changes the size.
    caf::replies_to<kvs_subscribe_atom, int64_t>::with<std::vector<core::block_hash>>,
    // Internal timers: poll disk loads (false), housekeeping of the disk tiers (true).
    caf::reacts_to<caf::tick_atom, bool>>;

struct kv_store_options {
    int64_t memory_bytes = int64_t{1} << 30;  ///< payload bytes held in memory at most
    std::string disk_dir;                     ///< empty: no disk tier
    int64_t disk_bytes = int64_t{64} << 30;   ///< per payload size (one tier each)
    /// The largest load reply (CAF's BASP header counts a message in 32 bits).
    int64_t max_reply_bytes = int64_t{256} << 20;
};

/// Opens the disk tiers found under `opts.disk_dir` (one `bytes-<N>` directory per
/// payload size, so a restarted store still holds what it wrote) and spawns the store.
result<kv_store_actor> spawn_kv_store(caf::actor_system& sys, const kv_store_options& opts);

}  // namespace actorlm::actors

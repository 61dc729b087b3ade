// kv_store_client: a kv::kv_block_store over a shared KV store (kv_store_actor)
// reached through CAF's middleman, so the offloading connector runs over it
// ("KVStoreConnector"). It owns a small actor system, so the offline engine can use
// it too. contains() answers from a local mirror of the hashes the store holds,
// kept from its events (never a network round trip on the scheduler's thread).
// Loads and saves are requests with a timeout; any failure makes the blocks
// invalid (recomputed). Saves are bounded in in-flight bytes (over the bound a
// save is skipped and counted). A store that dies or hangs empties the mirror, so
// lookups miss at once; the client reconnects in the background and rebuilds it.
// Every public method is thread-safe and never blocks on the network (flush()
// waits, bounded, for what is in flight). This header does not include CAF.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <actorlm/engine.hpp>

#include "kv/kv_block_store.hpp"
#include "kv/kv_transfer_config.hpp"

namespace actorlm::actors {

struct kv_store_client_options {
    std::string host;
    uint16_t port = 0;
    size_t layer_bytes = 0;  ///< one block's bytes in one layer (kv_block_io)
    int64_t num_layers = 0;
    std::chrono::milliseconds timeout{2000};  ///< per request to the store
    int64_t max_inflight_bytes = int64_t{256} << 20;
    std::chrono::milliseconds retry_interval{500};  ///< between reconnect attempts
    /// Loads are split into requests of at most this many payload bytes.
    int64_t max_message_bytes = int64_t{64} << 20;
    /// Mutual TLS to the store (its `--tls-*`); empty = plaintext.
    tls_config tls;
};

class kv_store_client final : public kv::kv_block_store {
public:
    /// Starts connecting in the background; never blocks.
    explicit kv_store_client(const kv_store_client_options& opts);
    /// Stops the client's actors; in-flight loads are abandoned (they never write
    /// into the cache after this returns).
    ~kv_store_client() override;
    kv_store_client(const kv_store_client&) = delete;
    kv_store_client& operator=(const kv_store_client&) = delete;

    /// Whether the mirror lists `h` (never asks the store).
    bool contains(const core::block_hash& h) const override;
    /// False when held, pending, disconnected or over the in-flight bound (then counted
    /// in saves_skipped).
    bool reserve_save(const core::block_hash& h) override;
    void cancel_save(const core::block_hash& h) override;
    void save_async(const core::block_hash& h, std::vector<uint8_t> payload) override;
    void load_async(std::string req_id, std::vector<load_block> blocks, kv_block_io* io) override;
    std::vector<load_result> take_finished_loads() override;
    /// Waits until no save or load is in flight (at most 2 timeouts + 1 s).
    void flush() override;
    /// Blocks and bytes stored are the mirror's (this block size only).
    kv::kv_connector_stats stats() const override;
    /// Store events (medium "kv_store"); at most 4096 are kept between calls.
    std::vector<kv::kv_event> take_events() override;
    size_t payload_bytes() const override;

    /// Whether the store answered the last subscription and has not been lost since.
    bool connected() const;
    /// Waits up to `limit` for connected().
    bool wait_connected(std::chrono::milliseconds limit) const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

/// The kv_connector_extra_config keys of "KVStoreConnector".
std::vector<std::string> kv_store_connector_extra_keys();

/// Gives every "KVStoreConnector" in `cfg` (a MultiConnector's chained ones too) the
/// engine's TLS files unless it names its own ("tls_cert", "tls_key", "tls_ca"): a node
/// configured with TLS speaks it to the store as to every other node. No-op when
/// `tls` is empty.
void inherit_kv_store_tls(kv::kv_transfer_config& cfg, const tls_config& tls);

/// Registers "KVStoreConnector" (the offloading connector over a kv_store_client)
/// with the KV connector registry. Idempotent and thread-safe; call before any
/// kv_transfer_config is validated (engine_runtime::create and the CLI do).
void register_kv_store_connector();

}  // namespace actorlm::actors

// kv_connector: the KV connector API (vLLM v1's KVConnectorBase_V1), CAF-free.
// A connector moves KV blocks between the device pool and somewhere that outlives
// a step (a disk tier, a shared store). It is split like vLLM's: the scheduler
// side decides (lookups, what to load/save this step, carried as metadata in the
// scheduler_output); the worker side copies bytes (kv_block_io) and reports what
// completed. Each side is called from one thread (the scheduler's, the worker's);
// a connector's own I/O threads are internal to it. docs/kv-connectors.md maps
// every name to vLLM's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "actorlm/engine.hpp"
#include "core/block_hash.hpp"
#include "kv/kv_block_io.hpp"
#include "kv/kv_connector_output.hpp"
#include "kv/kv_event.hpp"
#include "base/result.hpp"

namespace actorlm::core {
class request;
struct scheduler_output;
}  // namespace actorlm::core

namespace actorlm::kv {

/// What the scheduler side tells the worker side for one step; each connector
/// defines its own (vLLM's KVConnectorMetadata). Immutable once built.
struct kv_connector_metadata {
    virtual ~kv_connector_metadata() = default;
};

/// Counters of one connector (exposed in engine stats, Prometheus-style names in
/// docs/kv-connectors.md). Tokens for queries/hits, as vLLM's external prefix cache.
struct kv_connector_stats {
    int64_t queries = 0;  ///< tokens of requests looked up
    int64_t hits = 0;     ///< tokens found externally beyond the device hit
    int64_t blocks_loaded = 0;
    int64_t bytes_loaded = 0;
    int64_t blocks_saved = 0;
    int64_t bytes_saved = 0;
    int64_t blocks_streamed = 0;  ///< of blocks_saved, those a PeerConnector sent on its stream
    int64_t load_errors = 0;    ///< blocks whose checksum, size or file was wrong: recomputed
    int64_t save_errors = 0;    ///< writes that failed (disk full, I/O error)
    int64_t saves_skipped = 0;  ///< blocks not saved: saving stopped or over capacity
    int64_t evictions = 0;      ///< blocks dropped by the tier's LRU
    int64_t blocks_stored = 0;  ///< blocks the tier holds now
    int64_t bytes_stored = 0;
    double load_seconds = 0.0;  ///< summed I/O time of loads
    double save_seconds = 0.0;
};

/// The scheduler side (vLLM's KVConnectorBase_V1 in the SCHEDULER role).
class kv_connector_scheduler {
public:
    virtual ~kv_connector_scheduler() = default;

    struct match {
        int32_t num_tokens = 0;   ///< tokens available beyond num_computed_tokens (whole blocks)
        bool load_async = false;  ///< true: the request waits in waiting_for_remote_kvs
    };
    /// Tokens of `req` the connector can supply beyond the `num_computed_tokens`
    /// the device prefix cache already has. Must leave the last prompt token to
    /// compute. May be called again for the same request in later steps.
    virtual match get_num_new_matched_tokens(const core::request& req,
                                             int32_t num_computed_tokens) = 0;
    /// Called once per admission of `req` after its blocks were allocated:
    /// `block_ids` is its whole table, `num_external_tokens` what it will load
    /// (after req.num_computed_tokens device-cached tokens).
    virtual void update_state_after_alloc(const core::request& req,
                                          std::span<const int32_t> block_ids,
                                          int32_t num_external_tokens) = 0;
    /// What the workers load and save in the step `so` describes; null if nothing.
    virtual std::shared_ptr<const kv_connector_metadata> build_connector_meta(
        const core::scheduler_output& so) = 0;
    /// The workers' report of the step (completed loads and saves).
    virtual void update_connector_output(const kv_connector_output& out) { (void)out; }
    /// What a connector says about a request that finished (vLLM's request_finished
    /// tuple): whether its blocks must stay allocated until a save or a transfer to
    /// another engine completes (the request then appears in a later finished_sending),
    /// and what the caller needs to fetch its KV from elsewhere (the final output's
    /// kv_transfer_params).
    struct finished_request {
        bool delay_free_blocks = false;
        std::optional<actorlm::kv_transfer_params> kv_transfer_params;
    };
    /// `req` finished (stopped, aborted or failed: see req.status); `block_ids` is its table.
    virtual finished_request request_finished(const core::request& req,
                                              std::span<const int32_t> block_ids) = 0;
    /// A snapshot of running `req`'s computed full blocks (`block_ids`, the leading ones
    /// of its table) for another engine to pull while `req` keeps running: the pre-copy
    /// round of a live migration. The caller holds the blocks until `ticket` appears in
    /// a later finished_sending. Nothing (the default) when this connector cannot serve
    /// pulls; the caller then releases them at once.
    virtual std::optional<actorlm::kv_transfer_params> offer_snapshot(
        const core::request& req, std::span<const int32_t> block_ids, const std::string& ticket) {
        (void)req, (void)block_ids, (void)ticket;
        return std::nullopt;
    }
    /// Events since the last call.
    virtual std::vector<kv_event> take_events() { return {}; }
    virtual kv_connector_stats stats() const { return {}; }
};

/// The worker side (vLLM's KVConnectorBase_V1 in the WORKER role). Within a step:
/// bind_connector_metadata, start_load_kv, wait_for_layer_load(l) before layer l
/// reads its cache, save_kv_layer(l) after layer l wrote it, wait_for_save,
/// get_finished, clear_connector_metadata.
class kv_connector_worker {
public:
    virtual ~kv_connector_worker() = default;

    /// The cache the connector copies blocks from and into (outlives the connector).
    virtual status register_kv_caches(kv_block_io& caches) = 0;
    virtual void bind_connector_metadata(std::shared_ptr<const kv_connector_metadata> meta) {
        meta_ = std::move(meta);
    }
    virtual void clear_connector_metadata() { meta_.reset(); }
    /// Starts this step's loads (asynchronous ones complete in a later get_finished).
    virtual void start_load_kv() = 0;
    /// Blocks until synchronous loads of local layer `layer` are in the cache.
    virtual void wait_for_layer_load(int64_t layer) = 0;
    /// Local layer `layer` of this step's blocks is written: save what the metadata says.
    virtual void save_kv_layer(int64_t layer) = 0;
    /// Blocks until this step's saves no longer need the device blocks.
    virtual void wait_for_save() = 0;
    /// Requests whose asynchronous saves/loads completed since the last call, and
    /// blocks that failed to load. `finished_req_ids`: requests the scheduler ended.
    virtual kv_connector_output get_finished(std::span<const std::string> finished_req_ids) = 0;
    /// Waits until no load still writes into the registered cache (vLLM's shutdown):
    /// called before the cache is freed, since the tier may outlive this side.
    virtual void shutdown() {}

protected:
    std::shared_ptr<const kv_connector_metadata> meta_;
};

class kv_transfer_endpoint;

/// Both sides of one connector over shared state (the offline engine holds both;
/// the actor runtime gives each to its actor).
struct kv_connector_pair {
    std::unique_ptr<kv_connector_scheduler> scheduler;
    std::unique_ptr<kv_connector_worker> worker;
    /// A connector that hands KV to other engines (PeerConnector): where the network
    /// side (the KV-cache actor) serves and makes pulls. Null for the others.
    std::shared_ptr<kv_transfer_endpoint> transfer;
};

}  // namespace actorlm::kv

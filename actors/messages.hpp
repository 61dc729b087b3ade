// Message types, atoms and typed interfaces of the actor runtime, and the one
// type-ID block every node registers (runtime_config does it). Wire types (the
// worker protocol) have inspect() overloads; local-only types that hold
// callbacks or big engine objects are marked unsafe and never leave a process.
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actorlm/engine.hpp"
#include "actors/wire_inspect.hpp"
#include "core/model_runner_output.hpp"
#include "core/scheduler.hpp"
#include "core/scheduler_output.hpp"
#include "kv/kv_connector.hpp"
#include "kv/kv_connector_registry.hpp"
#include "kv/kv_transfer_config.hpp"

namespace actorlm::actors {

// -- worker protocol (crosses processes) --------------------------------------

/// What the scheduler tells a worker once it is connected: its pipeline stage
/// and the KV cache to allocate (block ids are global across stages). With
/// num_blocks 0 the worker's backend sizes the cache from its own device memory
/// (or kv_cache_memory_bytes) and reports the count in worker_info.
struct worker_setup {
    int32_t stage_index = 0;
    int32_t num_stages = 1;
    int64_t first_layer = 0;
    int64_t last_layer = 0;  // one past the last
    int32_t num_blocks = 0;
    int64_t kv_cache_memory_bytes = 0;
    int32_t max_num_blocks = 0;  // 0 = no cap
    int32_t block_size = 16;
    std::string kv_cache_dtype = "auto";
    bool hybrid_kv_groups = false;  // executor_request::hybrid_kv_groups
    int32_t num_threads = 0;
    uint64_t seed = 0;  // for unseeded sampling on the last stage
};

/// A worker's answer to setup.
struct worker_info {
    std::string model_name;
    int64_t num_layers = 0;
    int64_t hidden_size = 0;
    int64_t vocab_size = 0;
    int64_t kv_cache_bytes = 0;
    int32_t num_blocks = 0;  // KV blocks the worker allocated
    std::string device;
    // The shape of the cache a KV connector copies blocks out of (kv_block_io);
    // 0 when the backend gives connectors no block access.
    int64_t kv_block_layer_bytes = 0;
    int64_t num_kv_layers = 0;
    bool returns_hidden_states = false;  // the executor can serve pooling (embeddings)
};

/// One stage's output: the residual stream (non-last stages, raw float bytes)
/// or the sampled tokens (last stage).
struct stage_result {
    std::vector<char> hidden;
    core::model_runner_output output;
    int64_t kv_resident_bytes = -1;  // the stage's KV pool in memory; -1: not measured now
    double busy_seconds = 0.0;       // the step's time in the worker, from start to answer
    double idle_before_seconds = -1.0;  // since the worker's previous step ended; -1: none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_setup& x) {
    return f(caf::meta::type_name("worker_setup"), x.stage_index, x.num_stages, x.first_layer,
             x.last_layer, x.num_blocks, x.kv_cache_memory_bytes, x.max_num_blocks, x.block_size,
             x.kv_cache_dtype, x.hybrid_kv_groups, x.num_threads, x.seed);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_info& x) {
    return f(caf::meta::type_name("worker_info"), x.model_name, x.num_layers, x.hidden_size,
             x.vocab_size, x.kv_cache_bytes, x.num_blocks, x.device, x.kv_block_layer_bytes,
             x.num_kv_layers, x.returns_hidden_states);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_result& x) {
    return f(caf::meta::type_name("stage_result"), x.hidden, x.output, x.kv_resident_bytes,
             x.busy_seconds, x.idle_before_seconds);
}

// -- local protocol (one process) ------------------------------------------------

/// Receives output deltas for one request (runs on the frontend actor's thread).
using delta_callback = std::function<void(const output_delta&)>;

/// A request entering the engine, with the callback its deltas go to.
struct submission {
    generate_request request;
    delta_callback on_delta;
};

/// A sequence that ended outside a step (abort, worker loss, rejection).
struct ended_sequence {
    std::string id;
    finish_reason reason = finish_reason::abort;
    std::string error;
    error_kind kind = error_kind::internal;  // with reason == error
    std::optional<kv_transfer_params> kv_transfer;  // a migrated sequence's KV, kept
};

/// Token-level results of one step, for the detokenizer.
struct step_outputs {
    std::vector<core::request_output> outputs;
    std::vector<ended_sequence> ended;
};

/// A tokenized sequence ready for the scheduler.
struct sequence_specs {
    std::vector<core::request_spec> specs;
};

struct delta_batch {
    std::vector<output_delta> deltas;
};

/// The worker side of the engine's KV connector, for an in-process worker to
/// register with its cache (the scheduler side stays with the scheduler actor).
struct kv_connector_install {
    std::shared_ptr<kv::kv_connector_worker> worker;
};

/// Asks the KV-cache actor to build the engine's KV connector (its tiers and their
/// I/O threads) for the cache `context` describes; it installs the worker side on the
/// worker sent with it.
struct kv_connector_setup {
    kv::kv_transfer_config config;
    kv::kv_connector_context context;
};

/// The KV-cache actor's answer: the scheduler side, for the scheduler actor.
struct kv_connector_handoff {
    std::shared_ptr<kv::kv_connector_scheduler> scheduler;
};

/// The engine core's state (KV-cache usage, prefix-cache counters, queue sizes,
/// health), sent by the scheduler to the KV-cache actor after every step and every
/// change between steps, never on request: whoever asks for stats asks the
/// KV-cache actor and never waits for a step. Counters are cumulative.
struct kv_step_report {
    int64_t step = 0;
    int32_t num_blocks = 0;
    engine_stats stats;  // counters cumulative across scheduler rebuilds; health included
    std::vector<kv::kv_event> events;  // the KV connector's, since the last report
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_step_report& x) {
    return f(caf::meta::type_name("kv_step_report"), x.step, x.num_blocks, x.stats, x.events);
}

// -- shared KV store protocol (crosses processes; see kv_store_actor.hpp) ------

/// The counters of a shared KV store (`actorlm kv-store`). Blocks and bytes are
/// gauges; the rest count since the store started. Hits and misses are blocks
/// that loads asked for and got / did not get.
struct kv_store_stats {
    int64_t memory_capacity_bytes = 0;
    int64_t memory_bytes = 0;
    int64_t memory_blocks = 0;
    int64_t disk_capacity_bytes = 0;  ///< per block size (one disk tier each)
    int64_t disk_bytes = 0;
    int64_t disk_blocks = 0;
    int64_t lookups = 0;
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t evictions = 0;  ///< blocks dropped from memory (demoted to disk or gone)
    int64_t saves = 0;      ///< blocks stored
    int64_t loads = 0;      ///< load requests answered
    int64_t bytes_saved = 0;
    int64_t bytes_loaded = 0;
    int64_t rejected = 0;  ///< malformed requests refused with an error
    int64_t subscribers = 0;
};

/// What changed in a store, for the subscribers of one block size: hashes it now
/// holds and hashes it dropped (a client keeps a mirror of them).
struct kv_store_event {
    int64_t payload_bytes = 0;
    std::vector<core::block_hash> stored;
    std::vector<core::block_hash> removed;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_store_stats& x) {
    return f(caf::meta::type_name("kv_store_stats"), x.memory_capacity_bytes, x.memory_bytes,
             x.memory_blocks, x.disk_capacity_bytes, x.disk_bytes, x.disk_blocks, x.lookups, x.hits,
             x.misses, x.evictions, x.saves, x.loads, x.bytes_saved, x.bytes_loaded, x.rejected,
             x.subscribers);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_store_event& x) {
    return f(caf::meta::type_name("kv_store_event"), x.payload_bytes, x.stored, x.removed);
}

/// The encoder-cache actor's answer to a lookup: on a hit, the stored encoder output in
/// its byte form (multimodal::features_to_bytes). Crosses processes.
struct encoder_lookup {
    bool hit = false;
    std::vector<char> data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, encoder_lookup& x) {
    return f(caf::meta::type_name("encoder_lookup"), x.hit, x.data);
}

}  // namespace actorlm::actors

CAF_BEGIN_TYPE_ID_BLOCK(actorlm, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::worker_setup))
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::worker_info))
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::stage_result))
CAF_ADD_TYPE_ID(actorlm, (actorlm::core::scheduler_output))
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::kv_step_report))
CAF_ADD_TYPE_ID(actorlm, (actorlm::kv::kv_event))
CAF_ADD_TYPE_ID(actorlm, (std::vector<actorlm::kv::kv_event>))
CAF_ADD_TYPE_ID(actorlm, (actorlm::core::block_hash))
CAF_ADD_TYPE_ID(actorlm, (std::vector<actorlm::core::block_hash>))
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::kv_store_stats))
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::kv_store_event))
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::encoder_lookup))
CAF_ADD_TYPE_ID(actorlm, (actorlm::engine_stats))
CAF_ADD_TYPE_ID(actorlm, (actorlm::model_info))
CAF_ADD_TYPE_ID(actorlm, (actorlm::generate_request))
CAF_ADD_TYPE_ID(actorlm, (std::vector<actorlm::output_delta>))
CAF_ADD_ATOM(actorlm, actorlm::actors, setup_atom, "setup")
CAF_ADD_ATOM(actorlm, actorlm::actors, step_atom, "step")
CAF_ADD_ATOM(actorlm, actorlm::actors, submit_atom, "submit")
CAF_ADD_ATOM(actorlm, actorlm::actors, abort_atom, "abort")
CAF_ADD_ATOM(actorlm, actorlm::actors, finish_atom, "finish")
CAF_ADD_ATOM(actorlm, actorlm::actors, outputs_atom, "outputs")
CAF_ADD_ATOM(actorlm, actorlm::actors, stats_atom, "stats")
CAF_ADD_ATOM(actorlm, actorlm::actors, worker_atom, "worker")
CAF_ADD_ATOM(actorlm, actorlm::actors, kv_atom, "kv")
CAF_ADD_ATOM(actorlm, actorlm::actors, insert_atom, "insert")
CAF_ADD_ATOM(actorlm, actorlm::actors, release_atom, "release")
CAF_ADD_ATOM(actorlm, actorlm::actors, reset_atom, "reset")
CAF_ADD_ATOM(actorlm, actorlm::actors, subscribe_atom, "subscribe")
CAF_ADD_ATOM(actorlm, actorlm::actors, kv_events_atom, "kvevents")
CAF_ADD_ATOM(actorlm, actorlm::actors, kvs_lookup_atom, "kvslookup")
CAF_ADD_ATOM(actorlm, actorlm::actors, kvs_load_atom, "kvsload")
CAF_ADD_ATOM(actorlm, actorlm::actors, kvs_save_atom, "kvssave")
CAF_ADD_ATOM(actorlm, actorlm::actors, kvs_subscribe_atom, "kvssub")
CAF_ADD_ATOM(actorlm, actorlm::actors, kvs_event_atom, "kvsevent")
CAF_ADD_ATOM(actorlm, actorlm::actors, generate_atom, "generate")
CAF_ADD_ATOM(actorlm, actorlm::actors, delta_atom, "delta")
CAF_ADD_ATOM(actorlm, actorlm::actors, info_atom, "info")
CAF_ADD_ATOM(actorlm, actorlm::actors, kv_pull_atom, "kvpull")
CAF_ADD_ATOM(actorlm, actorlm::actors, migrate_atom, "migrate")
CAF_ADD_ATOM(actorlm, actorlm::actors, kv_stream_atom, "kvstream")
CAF_ADD_ATOM(actorlm, actorlm::actors, precopy_atom, "precopy")
CAF_ADD_TYPE_ID(actorlm, (actorlm::kv_transfer_params))
CAF_END_TYPE_ID_BLOCK(actorlm)

// Local-only payloads: callbacks and engine objects never cross a process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::submission)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::step_outputs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::sequence_specs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::delta_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::kv_connector_install)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::kv_connector_setup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::kv_connector_handoff)

namespace actorlm::actors {

/// A model worker: one pipeline stage on one device (or the whole model).
using worker_actor = caf::typed_actor<
    caf::replies_to<setup_atom, worker_setup>::with<worker_info>,
    caf::replies_to<step_atom, core::scheduler_output, std::vector<char>>::with<stage_result>,
    caf::replies_to<kv_atom, kv_connector_install>::with<bool>>;  // in-process workers only

/// Error codes the runtime reports across actors.
enum class engine_errc : uint8_t {
    worker_failed = 1,  // the forward pass or sampling failed on a worker
    worker_lost,        // a worker process died or stopped answering
    bad_setup,          // a worker could not build its stage
    unhealthy,          // the engine has no working workers right now
    no_snapshot,        // a request has no KV another engine could pull while it runs
};

}  // namespace actorlm::actors

CAF_ERROR_CODE_ENUM(actorlm::actors::engine_errc, "engine")

namespace actorlm::actors {

/// Why a shared KV store refused a request (the client treats each as a miss).
enum class kv_store_errc : uint8_t {
    bad_size = 1,  // a payload size that is not positive or not what was declared
    too_large,     // a block over the store's capacity, or a reply over the message limit
};

}  // namespace actorlm::actors

CAF_ERROR_CODE_ENUM(actorlm::actors::kv_store_errc, "kvstore")
// Handles travel only inside one process (connector -> scheduler).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::worker_actor)

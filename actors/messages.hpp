// Message types, atoms and typed interfaces of the actor runtime, and the one
// type-ID block every node registers (runtime_config does it). Wire types (the
// worker protocol) have inspect() overloads; local-only types that hold
// callbacks or big engine objects are marked unsafe and never leave a process.
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actorlm/engine.hpp"
#include "actors/wire_inspect.hpp"
#include "core/model_runner_output.hpp"
#include "core/scheduler.hpp"
#include "core/scheduler_output.hpp"
#include "kv/kv_connector.hpp"

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
};

/// One stage's output: the residual stream (non-last stages, raw float bytes)
/// or the sampled tokens (last stage).
struct stage_result {
    std::vector<char> hidden;
    core::model_runner_output output;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_setup& x) {
    return f(caf::meta::type_name("worker_setup"), x.stage_index, x.num_stages, x.first_layer,
             x.last_layer, x.num_blocks, x.kv_cache_memory_bytes, x.max_num_blocks, x.block_size,
             x.kv_cache_dtype, x.num_threads, x.seed);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_info& x) {
    return f(caf::meta::type_name("worker_info"), x.model_name, x.num_layers, x.hidden_size,
             x.vocab_size, x.kv_cache_bytes, x.num_blocks, x.device, x.kv_block_layer_bytes,
             x.num_kv_layers);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_result& x) {
    return f(caf::meta::type_name("stage_result"), x.hidden, x.output);
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

/// The engine core's state (KV-cache usage, prefix-cache counters, queue sizes,
/// health), sent by the scheduler to the KV-cache actor after every step and every
/// change between steps, never on request: whoever asks for stats asks the
/// KV-cache actor and never waits for a step. Counters are cumulative.
struct kv_step_report {
    int64_t step = 0;
    int32_t num_blocks = 0;
    engine_stats stats;  // counters cumulative across scheduler rebuilds; health included
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_step_report& x) {
    return f(caf::meta::type_name("kv_step_report"), x.step, x.num_blocks, x.stats);
}

}  // namespace actorlm::actors

CAF_BEGIN_TYPE_ID_BLOCK(actorlm, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::worker_setup))
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::worker_info))
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::stage_result))
CAF_ADD_TYPE_ID(actorlm, (actorlm::core::scheduler_output))
CAF_ADD_TYPE_ID(actorlm, (actorlm::actors::kv_step_report))
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
CAF_END_TYPE_ID_BLOCK(actorlm)

// Local-only payloads: callbacks and engine objects never cross a process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::submission)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::step_outputs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::sequence_specs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::delta_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::kv_connector_install)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::engine_stats)

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
};

}  // namespace actorlm::actors

CAF_ERROR_CODE_ENUM(actorlm::actors::engine_errc, "engine")
// Handles travel only inside one process (connector -> scheduler).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::worker_actor)

// The typed interfaces of every actor, in one place so that actors can hold
// each other's handles without include cycles. Message flow of one request:
//   facade --submit--> frontend --submit--> detokenizer --submit--> scheduler
//   scheduler --step--> worker(s);  scheduler --outputs--> detokenizer
//   detokenizer --outputs--> frontend --callback--> embedder / HTTP session
// Aborts travel the same path with high priority.
#pragma once

#include "actors/messages.hpp"

namespace actorlm::actors {

/// The engine's front door (see frontend_actor.hpp).
using frontend_actor = caf::typed_actor<caf::reacts_to<submit_atom, submission>,
                                        caf::reacts_to<abort_atom, std::string>,  // request id
                                        caf::reacts_to<outputs_atom, delta_batch>>;

/// Text in and out (see detokenizer_actor.hpp).
using detokenizer_actor =
    caf::typed_actor<caf::reacts_to<submit_atom, uint64_t, submission>,  // serial, request
                     caf::reacts_to<abort_atom, uint64_t, std::string>,  // serial, request id
                     caf::reacts_to<outputs_atom, step_outputs>>;

/// The engine core's step loop (see scheduler_actor.hpp).
using scheduler_actor = caf::typed_actor<
    caf::reacts_to<submit_atom, uint64_t, sequence_specs>,           // serial, specs
    caf::reacts_to<abort_atom, uint64_t, std::vector<std::string>>,  // serial, sequence ids
    caf::reacts_to<finish_atom, std::string, std::string>,           // sequence id, stop string
    caf::reacts_to<step_atom>,
    caf::replies_to<reset_atom>::with<bool>,              // reset the prefix cache
    caf::reacts_to<worker_atom, int32_t, worker_actor>>;  // a (re)connected stage

/// Whoever wants an engine's KV events (a prefix-aware router): block stored /
/// removed batches as the KV-cache actor publishes them.
using kv_event_subscriber =
    caf::typed_actor<caf::reacts_to<kv_events_atom, std::vector<kv::kv_event>>>;

/// The engine's state, reported by the scheduler and served to every query
/// (see kv_cache_actor.hpp): stats for /metrics and /health, prefix-cache reset.
using kv_cache_actor =
    caf::typed_actor<caf::reacts_to<kv_atom, kv_step_report>,
                     caf::replies_to<stats_atom>::with<engine_stats>,
                     caf::replies_to<reset_atom>::with<bool>,      // reset the prefix cache
                     caf::reacts_to<setup_atom, scheduler_actor>,  // whose blocks it resets
                     caf::reacts_to<subscribe_atom, kv_event_subscriber>>;

/// Reconnects lost remote workers (see connector_actor.hpp).
using connector_actor = caf::typed_actor<caf::reacts_to<worker_atom, int32_t>>;

}  // namespace actorlm::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::frontend_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::detokenizer_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::scheduler_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::kv_event_subscriber)

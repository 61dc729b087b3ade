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
                                        // ends it keeping its KV for another engine
                                        caf::reacts_to<migrate_atom, std::string>,
                                        // its KV so far, offered while it runs
                                        caf::replies_to<precopy_atom, std::string>::with<
                                            kv_transfer_params>,
                                        caf::reacts_to<outputs_atom, delta_batch>>;

/// Text in and out (see detokenizer_actor.hpp).
using detokenizer_actor =
    caf::typed_actor<caf::reacts_to<submit_atom, uint64_t, submission>,  // serial, request
                     caf::reacts_to<abort_atom, uint64_t, std::string>,  // serial, request id
                     caf::reacts_to<migrate_atom, uint64_t, std::string>,
                     caf::replies_to<precopy_atom, std::string>::with<kv_transfer_params>,
                     caf::reacts_to<outputs_atom, step_outputs>>;

/// The engine core's step loop (see scheduler_actor.hpp).
using scheduler_actor = caf::typed_actor<
    caf::reacts_to<submit_atom, uint64_t, sequence_specs>,           // serial, specs
    caf::reacts_to<abort_atom, uint64_t, std::vector<std::string>>,  // serial, sequence ids
    // ends running sequences after the step in flight, their KV kept (migration)
    caf::reacts_to<migrate_atom, std::vector<std::string>>,
    // offers a running sequence's computed blocks after the step in flight (pre-copy)
    caf::replies_to<precopy_atom, std::string>::with<kv_transfer_params>,
    caf::reacts_to<finish_atom, std::string, std::string>,           // sequence id, stop string
    caf::reacts_to<step_atom>,
    caf::replies_to<reset_atom>::with<bool>,              // reset the prefix cache
    caf::reacts_to<worker_atom, int32_t, worker_actor>>;  // a (re)connected stage

/// Whoever wants an engine's KV events (a prefix-aware router): block stored /
/// removed batches as the KV-cache actor publishes them.
using kv_event_subscriber =
    caf::typed_actor<caf::reacts_to<kv_events_atom, std::vector<kv::kv_event>>>;

/// KV blocks between engines (prefill/decode disaggregation, see kv_transfer_actor.hpp).
/// A consumer pulls (transfer id, first block, the hashes it expects, payload bytes
/// per block) and gets the leading matching blocks' payloads and their count; then it
/// releases the transfer so the producer frees its blocks. Or, with the same
/// arguments, it asks for a stream (kv_stream_atom) and gets the port of the
/// producer's byte stream, a one-use token and how many leading blocks match; the bytes
/// then flow over that TCP connection, cache to cache. The KV-cache actor and the
/// cluster member offer it too (they delegate).
using kv_transfer_service = caf::typed_actor<
    caf::replies_to<kv_pull_atom, std::string, int32_t, std::vector<core::block_hash>,
                    int64_t>::with<std::vector<char>, int32_t>,
    caf::replies_to<kv_stream_atom, std::string, int32_t, std::vector<core::block_hash>,
                    int64_t>::with<uint16_t, std::string, int32_t>,
    caf::reacts_to<release_atom, std::string>>;

/// The network side of one engine's kv_transfer_endpoint: serves pulls, and
/// (kv_pull_atom) wakes it to make the pulls its worker queued; (kv_stream_atom, pull,
/// blocks) is its own receiving thread reporting a stream's end.
using kv_transfer_actor = kv_transfer_service::extend<caf::reacts_to<kv_pull_atom>,
                                                      caf::reacts_to<kv_stream_atom, uint64_t, int32_t>>;

/// The engine's state, reported by the scheduler and served to every query
/// (see kv_cache_actor.hpp): stats for /metrics and /health, prefix-cache reset,
/// and the KV connector with its tiers, which it builds and holds.
using kv_cache_actor = kv_transfer_service::extend<
                     caf::reacts_to<kv_atom, kv_step_report>,
                     caf::replies_to<stats_atom>::with<engine_stats>,
                     caf::replies_to<reset_atom>::with<bool>,      // reset the prefix cache
                     caf::reacts_to<setup_atom, scheduler_actor>,  // whose blocks it resets
                     caf::reacts_to<subscribe_atom, kv_event_subscriber>,
                     // what the device prefix cache holds now, as events (cleared, then
                     // stored): a late subscriber's starting point
                     caf::replies_to<kv_events_atom>::with<std::vector<kv::kv_event>>,
                     // in-process worker only: the connector's sides share its tiers
                     caf::replies_to<setup_atom, kv_connector_setup,
                                     worker_actor>::with<kv_connector_handoff>>;

/// An engine as a cluster member (see cluster_member_actor.hpp), published with
/// --cluster-listen: requests whose deltas stream back to the sender as
/// (delta_atom, stream, deltas), their aborts, the engine's stats and model, and a
/// subscription to its KV events ((kv_events_atom, events) to the sender, sent by the
/// member itself so the subscriber knows whose they are).
using cluster_member_actor = kv_transfer_service::extend<
                     caf::reacts_to<generate_atom, uint64_t, generate_request>,
                     caf::reacts_to<abort_atom, uint64_t>,
                     // ends the stream's request keeping its KV: the final delta (finish
                     // abort) says where to pull it, for a live migration
                     caf::reacts_to<migrate_atom, uint64_t>,
                     // the pre-copy round of a migration: where to pull the stream's
                     // KV computed so far while its request keeps running
                     caf::replies_to<precopy_atom, uint64_t>::with<kv_transfer_params>,
                     caf::replies_to<stats_atom>::with<engine_stats>,
                     caf::replies_to<info_atom>::with<model_info>,
                     caf::reacts_to<subscribe_atom>,
                     // from its own KV-cache actor, relayed to the subscribers
                     caf::reacts_to<kv_events_atom, std::vector<kv::kv_event>>>;

/// Whoever sends requests to cluster members (a router): it receives their deltas and
/// KV events.
using cluster_client_actor =
    caf::typed_actor<caf::reacts_to<delta_atom, uint64_t, std::vector<output_delta>>,
                     caf::reacts_to<kv_events_atom, std::vector<kv::kv_event>>>;

/// Reconnects lost remote workers (see connector_actor.hpp).
using connector_actor = caf::typed_actor<caf::reacts_to<worker_atom, int32_t>>;

}  // namespace actorlm::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::frontend_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::detokenizer_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::scheduler_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::kv_event_subscriber)

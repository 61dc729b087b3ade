// KV-cache actor: the KV-cache manager's public face and the place every state
// query goes. The block tables live with the scheduler (vLLM keeps them together
// too: a hop per allocation would cost 1 µs-0.1 ms each, CAF guide §5/§12); the
// scheduler sends this actor a kv_step_report after every step and every change
// between steps (submissions, aborts, health), and it answers /metrics, /health
// and admin callers from the last report, so no caller ever waits for a step.
// Actions on the block tables (POST /reset_prefix_cache) it forwards to the
// scheduler it is told about after spawning. It publishes the KV connector's
// events (blocks stored / removed, in report order) to every subscriber, e.g. a
// prefix-aware router, until the subscriber goes down.
// It is where the KV that outlives a step lives: it builds the engine's KV connector
// from --kv-transfer-config, so the tiers and their I/O threads belong to it (never to
// the scheduler's thread); it installs the worker side on the in-process worker, hands
// the scheduler side to the scheduler, and holds the connector for the engine's life.
// Scheduled; holds the last report and the connector.
#pragma once

#include "actors/scheduler_actor.hpp"

namespace actorlm::actors {

/// `num_blocks`: the KV pool size, reported until the scheduler's first report arrives.
kv_cache_actor spawn_kv_cache_actor(caf::actor_system& sys, int32_t num_blocks);

}  // namespace actorlm::actors

// KV-cache actor: the KV-cache manager's public face. The block tables live
// with the scheduler (vLLM keeps them together too: a hop per allocation would
// cost 1 µs-0.1 ms each, CAF guide §5/§12); the scheduler sends this actor one
// kv_step_report per step — never per request — and it answers stats queries
// from metrics and admin callers without touching the scheduler's hot loop.
// Scheduled; holds only the last report.
#pragma once

#include "actors/scheduler_actor.hpp"

namespace actorlm::actors {

/// `num_blocks`: the KV pool size, reported until the first step's report arrives.
kv_cache_actor spawn_kv_cache_actor(caf::actor_system& sys, int32_t num_blocks);

}  // namespace actorlm::actors

// cluster member actor: what a router (or any cluster peer) reaches of one engine,
// published through CAF's middleman by `actorlm serve --cluster-listen HOST:PORT`.
// A remote request becomes a local submission to the frontend; its deltas go back to
// the requesting actor as (delta_atom, stream, deltas) in order, with the client's
// request id; an abort from the client, or the client going down, aborts its
// requests here. Stats come from the KV-cache actor; the member relays the engine's
// KV events (from the KV-cache actor) to its subscribers under its own address. Scheduled; never blocks (the frontend and the
// KV-cache actor answer from their own state).
#pragma once

#include <caf/all.hpp>

#include "actors/interfaces.hpp"

namespace actorlm::actors {

cluster_member_actor spawn_cluster_member(caf::actor_system& sys, frontend_actor frontend,
                                          kv_cache_actor kv, model_info info);

}  // namespace actorlm::actors

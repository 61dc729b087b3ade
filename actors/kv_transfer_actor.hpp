// kv_transfer_actor: the network side of an engine's PeerConnector (its
// kv_transfer_endpoint). As a producer it serves other engines' pulls of the blocks
// the endpoint keeps, and frees them when released; as a consumer it makes the pulls
// the worker queued: it reaches the producer's cluster member through the middleman
// (asynchronously, one connection per producer), asks for chunks of at most
// chunk_bytes with at most max_inflight_chunks outstanding (so a slow consumer never
// makes a producer buffer more than that), writes each answered block into the
// cache, reports the pull done and releases the producer's blocks. When both sides
// allow it (no TLS), the bytes skip the actors: the consumer asks for a stream ticket,
// and one of its threads receives the blocks over a direct TCP connection from the
// producer's kv_stream_server straight into the cache; a stream that cannot start or
// breaks off falls back to chunks from where it stopped. A producer that dies or stops
// answering fails the pull: the missing blocks are recomputed, never waited for.
// Spawned and linked by the KV-cache actor; scheduled.
#pragma once

#include <memory>

#include "actors/interfaces.hpp"

namespace actorlm::kv {
class kv_transfer_endpoint;
}

namespace actorlm::actors {

/// Spawns it linked to `owner` (the KV-cache actor): it lives as long as its owner.
kv_transfer_actor spawn_kv_transfer_actor(caf::local_actor* owner,
                                          std::shared_ptr<kv::kv_transfer_endpoint> endpoint);
/// Spawns it on its own (a benchmark's producer or consumer without an engine); the
/// caller stops it.
kv_transfer_actor spawn_kv_transfer_actor(caf::actor_system& sys,
                                          std::shared_ptr<kv::kv_transfer_endpoint> endpoint);

}  // namespace actorlm::actors

// encoder-cache actor: owns an engine encoder_cache (outputs of a vision encoder keyed
// by the mm_hash of their input), the store the engine's workers share and, published
// with --encoder-cache-listen, other engines too (encode once, prefill anywhere). Workers
// ask it before running their encoder and store what they computed
// (encoder_store_client); a worker releases a request's references when it finishes.
// Payloads are bytes (multimodal::features_to_bytes), so lookups cross processes.
// Scheduled; every operation is O(1) apart from copying the payload.
#pragma once

#include "actors/messages.hpp"

namespace actorlm::actors {

using encoder_cache_actor = caf::typed_actor<
    // (hash, request id) -> lookup; a hit adds the request's reference
    caf::replies_to<caf::get_atom, std::string, std::string>::with<encoder_lookup>,
    // (hash, request id, bytes) -> true if stored (false: no room beside the entries in
    // use, or the hash is already there)
    caf::replies_to<insert_atom, std::string, std::string, std::vector<char>>::with<bool>,
    // request id: drop all its references
    caf::reacts_to<release_atom, std::string>,
    // (lookups, hits, entries, bytes held)
    caf::replies_to<stats_atom>::with<int64_t, int64_t, int64_t, int64_t>>;

/// capacity_bytes: payload bytes held at most.
encoder_cache_actor spawn_encoder_cache_actor(caf::actor_system& sys, size_t capacity_bytes);

}  // namespace actorlm::actors

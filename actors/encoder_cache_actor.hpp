// encoder-cache actor: owns an engine encoder_cache (outputs of a vision or
// audio encoder keyed by the content hash of their input) for the requests of
// one engine. Workers ask it before running an encoder and store what they
// computed; the scheduler releases a request's references when it ends.
// Scheduled; every operation is O(1) and never blocks.
#pragma once

#include "actors/messages.hpp"

namespace actorlm::actors {

/// Result of a lookup: on a hit, the cached encoder output as raw bytes.
struct encoder_lookup {
    bool hit = false;
    std::vector<char> data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, encoder_lookup& x) {
    return f(caf::meta::type_name("encoder_lookup"), x.hit, x.data);
}

using encoder_cache_actor = caf::typed_actor<
    // (hash, request id) -> lookup; a hit adds the request's reference
    caf::replies_to<caf::get_atom, std::string, std::string>::with<encoder_lookup>,
    // (hash, request id, bytes) -> true if stored (false: every entry is in use)
    caf::replies_to<insert_atom, std::string, std::string, std::vector<char>>::with<bool>,
    // request id: drop all its references
    caf::reacts_to<release_atom, std::string>>;

encoder_cache_actor spawn_encoder_cache_actor(caf::actor_system& sys, size_t capacity_entries);

}  // namespace actorlm::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::encoder_lookup)

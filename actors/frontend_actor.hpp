// frontend actor: the engine's front door. Embedders and the HTTP server reach
// it with anon_send from their own threads (thread-safe, never blocks). It
// numbers submissions (the serial lets aborts overtake queued work safely),
// keeps each request's callback and core::parent_request (which of its n
// sequences still run), and hands the deltas coming back from the detokenizer
// to those callbacks: one final delta per sequence, the id freed with the last
// one in whatever order they end. Scheduled; callbacks must be quick.
#pragma once

#include "actors/detokenizer_actor.hpp"
#include "actors/messages.hpp"

namespace actorlm::actors {

frontend_actor spawn_frontend(caf::actor_system& sys, detokenizer_actor detokenizer);

}  // namespace actorlm::actors

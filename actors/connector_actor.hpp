// connector actor: brings remote workers (`actorlm worker --listen`) back.
// The scheduler sends it worker_atom(index) after a loss; it retries
// remote_actor(host, port) once a second until the worker answers, then tells
// the scheduler worker_atom(index, handle). Detached, because remote_actor
// blocks (bounded by middleman.connection-timeout).
#pragma once

#include <string>
#include <vector>

#include "actors/scheduler_actor.hpp"

namespace actorlm::actors {

struct worker_address {
    std::string host;
    uint16_t port = 0;
};

/// Parses "HOST:PORT"; false with a message in *error when malformed.
bool parse_worker_address(const std::string& text, worker_address* out, std::string* error);

connector_actor spawn_connector(caf::actor_system& sys, std::vector<worker_address> addresses);

}  // namespace actorlm::actors

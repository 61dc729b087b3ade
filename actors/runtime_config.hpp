// runtime_config: the CAF configuration every actorlm node uses (the engine
// process and each `actorlm worker`): the one type-ID block, the middleman,
// heartbeats so a frozen peer is detected, and readable engine errors.
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>

namespace actorlm::actors {

class runtime_config : public caf::actor_system_config {
public:
    /// `heartbeat` and `connection_timeout` apply to remote connections: a peer
    /// that stops answering (SIGSTOP, host gone) is declared down after the timeout.
    explicit runtime_config(
        std::chrono::milliseconds heartbeat = std::chrono::milliseconds(200),
        std::chrono::milliseconds connection_timeout = std::chrono::milliseconds(2000));
};

}  // namespace actorlm::actors

// runtime_config: the CAF configuration every actorlm node uses (the engine
// process and each `actorlm worker`): the one type-ID block, the middleman,
// heartbeats so a frozen peer is detected, and readable engine errors.
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>

namespace actorlm::actors {

/// The connection timeout of nodes that move KV blocks (the shared store and its
/// clients): payloads share the TCP connection with heartbeats, and a burst of a few
/// hundred MB (one prefill chunk of a 1.7B model is 384 MiB) delays heartbeats far past
/// 2 s at the ~70 MB/s measured on loopback here. A hung peer is still found fast: every
/// request has its own timeout (the connector's timeout_ms).
inline constexpr std::chrono::milliseconds k_kv_transfer_connection_timeout{30000};

class runtime_config : public caf::actor_system_config {
public:
    /// `heartbeat` and `connection_timeout` apply to remote connections: a peer
    /// that stops answering (SIGSTOP, host gone) is declared down after the timeout.
    explicit runtime_config(
        std::chrono::milliseconds heartbeat = std::chrono::milliseconds(200),
        std::chrono::milliseconds connection_timeout = std::chrono::milliseconds(2000));
};

}  // namespace actorlm::actors

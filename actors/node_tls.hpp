// node_tls: how one actorlm node reaches another. Plaintext (CAF's middleman, BASP
// over TCP) or, with a tls_config, CAF 0.17's openssl module (BASP over mutual TLS).
// Every publisher and connector in the tree goes through the functions here, so the
// choice is made once per actor system: a system configured with TLS publishes and
// connects only through TLS, and one without never loads the module. Free functions,
// callable from any thread (they talk to the middleman actor; the sync ones block).
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <set>
#include <string>

#include <actorlm/engine.hpp>

namespace actorlm::actors {

/// How long a blocking connect_node waits for the peer's handshake. The connection
/// timeout of runtime_config (2 s, heartbeats) normally ends a handshake that never
/// comes first; this bound holds even when the connection timeout is long (KV nodes).
inline constexpr std::chrono::seconds k_node_connect_timeout{10};

/// Checks `tls` before any socket is opened, so that a mistake is an error naming the
/// file rather than a refused connection later (or an exception inside CAF's I/O
/// loop, which is what CAF 0.17 does with a file it cannot load): all three files or
/// none; each readable; the certificate file a PEM certificate (chain), the key an
/// unencrypted PEM key that belongs to it, the CA file PEM certificates, and the
/// node's own certificate valid and chained to that CA (else every peer refuses it).
/// Returns "" when `tls` is fine (or empty), else the problem.
std::string check_tls_config(const tls_config& tls);

/// Checks `tls` (check_tls_config) and, when it is set, loads CAF's openssl module
/// into `cfg` with the node's certificate, key and CA. Call once on a fresh
/// runtime_config (the middleman is loaded), before the actor system is built from it.
/// Returns "" or the problem; on error `cfg` is unchanged and must not be used for a
/// node that was asked to speak TLS.
std::string configure_node_tls(caf::actor_system_config& cfg, const tls_config& tls);

/// Whether `sys` talks TLS to other nodes (configure_node_tls loaded the module).
bool node_uses_tls(const caf::actor_system& sys);

/// The actor that opens and accepts this node's connections: the openssl module's
/// when `sys` uses TLS, the middleman's otherwise. Same protocol either way (CAF's
/// io::middleman_actor): `connect_atom(host, port)` answers (node_id,
/// strong_actor_ptr, interface), which is how the asynchronous reconnect loops use it.
caf::io::middleman_actor node_connector(caf::actor_system& sys);

/// Publishes `whom` (its interface `sigs`) on `host`:`port` (0: any free port) through
/// node_connector; returns the bound port.
caf::expected<uint16_t> publish_node(caf::actor_system& sys, const caf::strong_actor_ptr& whom,
                                     std::set<std::string> sigs, const std::string& host,
                                     uint16_t port);

/// Connects to the actor published on `host`:`port` and checks that it offers
/// interface `ifs`; blocks at most k_node_connect_timeout.
caf::expected<caf::strong_actor_ptr> connect_node(caf::actor_system& sys,
                                                  const std::set<std::string>& ifs,
                                                  const std::string& host, uint16_t port);

/// publish_node for a typed or dynamic handle.
template <class Handle>
caf::expected<uint16_t> publish_node(const Handle& whom, const std::string& host, uint16_t port) {
    if (!whom) return caf::sec::cannot_publish_invalid_actor;
    auto& sys = whom.home_system();
    return publish_node(sys, caf::actor_cast<caf::strong_actor_ptr>(whom),
                        sys.message_types(whom), host, port);
}

/// connect_node for a handle type (`caf::actor` for any interface).
template <class Handle>
caf::expected<Handle> connect_node(caf::actor_system& sys, const std::string& host,
                                   uint16_t port) {
    caf::detail::type_list<Handle> tk;
    auto ptr = connect_node(sys, sys.message_types(tk), host, port);
    if (!ptr) return std::move(ptr.error());
    return caf::actor_cast<Handle>(std::move(*ptr));
}

/// `err` from a failed connect, rendered, plus what the transport expects of the peer
/// (a refused TLS handshake and a plaintext peer both look like a dropped connection
/// or a handshake timeout to CAF, so the message says which side needs what).
std::string describe_connect_error(caf::actor_system& sys, const caf::error& err);

}  // namespace actorlm::actors

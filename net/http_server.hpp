// http_server: Boost.Beast HTTP/1.1 server (HTTPS with a certificate) on a few
// io_context threads. Accepts connections, hands each to an http_session (keep-alive,
// limits, SSE streaming, disconnect detection) and drains gracefully on shutdown: stop
// accepting, close idle connections, let in-flight responses finish, then stop.
// start()/request_shutdown() are thread-safe; wait() blocks the calling thread.
// Lifetime: connections stay alive while the backend holds their callbacks, so stop
// the backend (destroy the engine) after wait() and before destroying the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "net/request_handler.hpp"

namespace actorlm::net {

struct server_options {
    std::string host = "127.0.0.1";
    uint16_t port = 8000;  // 0: any free port (see http_server::port())
    int32_t io_threads = 2;
    size_t body_limit_bytes = 8u << 20;     // larger bodies get 413
    size_t header_limit_bytes = 64u << 10;  // larger request heads get 431
    int32_t max_header_fields = 100;        // more header fields get 431 (Apache's default)
    // Whole-request read deadlines, so a client that trickles bytes (slowloris) cannot hold
    // a connection: the head (and, between requests, the keep-alive wait) within
    // idle_timeout_s, the body within request_timeout_s. Closed, without a response, after.
    int32_t idle_timeout_s = 60;
    int32_t request_timeout_s = 60;
    // Open connections at most; one more is answered 503 with Retry-After and closed. <= 0: no cap.
    int32_t max_connections = 4096;
    int32_t drain_timeout_s = 60;  // shutdown waits this long for in-flight requests
    // HTTPS (vLLM's --ssl-keyfile/--ssl-certfile/--ssl-ca-certs/--ssl-cert-reqs): PEM files;
    // with a certificate every connection is TLS (1.2 or newer) and plaintext is refused.
    std::string ssl_certfile;  // the server's certificate chain
    std::string ssl_keyfile;   // its private key
    std::string ssl_ca_certs;  // CAs that client certificates must chain to
    int32_t ssl_cert_reqs = 0;  // Python's ssl.CERT_*: 0 none, 1 optional, 2 required
    bool handle_signals = false;   // SIGTERM/SIGINT start a graceful shutdown
};

class http_server {
public:
    http_server(server_options options, request_handler& handler);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    /// Binds and listens, then starts the I/O threads. Error when the address is unusable or
    /// a TLS file cannot be read (naming the file).
    status start();
    /// The bound port (useful with port 0).
    uint16_t port() const;
    /// Blocks until a shutdown completes (after request_shutdown() or a signal).
    void wait();
    /// Starts a graceful shutdown. Thread-safe, idempotent.
    void request_shutdown();
    /// Connections currently open.
    int64_t num_connections() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace actorlm::net

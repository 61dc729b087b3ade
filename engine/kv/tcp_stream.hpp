// tcp_stream: the few POSIX TCP operations the KV byte stream needs — listen on an
// ephemeral port, connect with a deadline, and move a gather/scatter list of buffers
// whole (writev/readv looped over partial transfers). Every socket has send and
// receive timeouts, so a stalled peer ends a transfer instead of hanging a thread.
// CAF-free and Boost-free: it runs on plain threads next to the engine's cache.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "base/result.hpp"

namespace actorlm::kv {

/// Owns one socket descriptor; closes it when destroyed.
class tcp_socket {
public:
    tcp_socket() = default;
    explicit tcp_socket(int fd) : fd_(fd) {}
    tcp_socket(tcp_socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    tcp_socket& operator=(tcp_socket&& o) noexcept;
    tcp_socket(const tcp_socket&) = delete;
    tcp_socket& operator=(const tcp_socket&) = delete;
    ~tcp_socket();

    int fd() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    /// Wakes a thread blocked on this socket (accept, send, recv) from another thread;
    /// the descriptor stays open until the owner closes it.
    void shut_down() const;

private:
    int fd_ = -1;
};

/// Listens on `host` (an address or a name; empty: every interface) at an ephemeral
/// port, which it returns in `port`.
result<tcp_socket> tcp_listen(const std::string& host, uint16_t& port);

/// The next connection on `listener`, with `timeout` for each later send and receive;
/// an invalid socket once the listener is shut down.
tcp_socket tcp_accept(const tcp_socket& listener, std::chrono::milliseconds timeout);

/// Connects to host:port within `timeout`, which then bounds each send and receive.
result<tcp_socket> tcp_connect(const std::string& host, uint16_t port,
                               std::chrono::milliseconds timeout);

/// Sends every byte of `bufs` (modified: advanced past what was sent). False when the
/// peer closed, timed out or failed first.
bool tcp_send_all(const tcp_socket& s, std::span<iovec> bufs);
/// Receives exactly the bytes `bufs` describe (modified likewise). False when the
/// stream ended, timed out or failed first.
bool tcp_receive_all(const tcp_socket& s, std::span<iovec> bufs);

}  // namespace actorlm::kv

// tcp_stream implementation: getaddrinfo for names and IPv6, a non-blocking connect
// polled against its deadline, and writev/readv loops that skip the buffers already
// done, so a partial transfer resumes where it stopped.
#include "kv/tcp_stream.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>

namespace actorlm::kv {
namespace {

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int on = 1;  // each block is one writev: do not hold its tail for an ack
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

using addrinfo_ptr = std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)>;

result<addrinfo_ptr> resolve(const std::string& host, uint16_t port, bool passive) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints,
                                 &found);
    if (rc != 0)
        return make_error("cannot resolve '%s': %s", host.c_str(), ::gai_strerror(rc));
    return addrinfo_ptr(found, &::freeaddrinfo);
}

/// Drops the leading bytes `done` from `bufs`; returns the first buffer not yet done.
size_t advance(std::span<iovec> bufs, size_t first, size_t done) {
    while (first < bufs.size() && done >= bufs[first].iov_len) {
        done -= bufs[first].iov_len;
        ++first;
    }
    if (first < bufs.size()) {
        bufs[first].iov_base = static_cast<char*>(bufs[first].iov_base) + done;
        bufs[first].iov_len -= done;
    }
    return first;
}

template <class Transfer>
bool transfer_all(std::span<iovec> bufs, Transfer op) {
    size_t first = advance(bufs, 0, 0);  // skips empty leading buffers
    while (first < bufs.size()) {
        const int count = static_cast<int>(std::min<size_t>(bufs.size() - first, IOV_MAX));
        const ssize_t n = op(bufs.data() + first, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;  // closed, timed out (EAGAIN) or failed
        first = advance(bufs, first, static_cast<size_t>(n));
    }
    return true;
}

}  // namespace

tcp_socket& tcp_socket::operator=(tcp_socket&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
}

tcp_socket::~tcp_socket() {
    if (fd_ >= 0) ::close(fd_);
}

void tcp_socket::shut_down() const {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

result<tcp_socket> tcp_listen(const std::string& host, uint16_t& port) {
    auto addrs = resolve(host, 0, true);
    if (!addrs) return addrs.err();
    std::string last = "no address";
    for (addrinfo* a = addrs->get(); a; a = a->ai_next) {
        tcp_socket s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
        if (!s.valid()) continue;
        if (::bind(s.fd(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(s.fd(), 16) != 0) {
            last = std::strerror(errno);
            continue;
        }
        sockaddr_storage bound{};
        socklen_t len = sizeof bound;
        ::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&bound), &len);
        port = ntohs(bound.ss_family == AF_INET6
                         ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                         : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
        return s;
    }
    return make_error("cannot listen on '%s': %s", host.c_str(), last.c_str());
}

tcp_socket tcp_accept(const tcp_socket& listener, std::chrono::milliseconds timeout) {
    for (;;) {
        const int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
            set_timeouts(fd, timeout);
            return tcp_socket(fd);
        }
        // A peer that reset before being accepted is its problem, not the listener's.
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
        return {};
    }
}

result<tcp_socket> tcp_connect(const std::string& host, uint16_t port,
                               std::chrono::milliseconds timeout) {
    auto addrs = resolve(host, port, false);
    if (!addrs) return addrs.err();
    std::string last = "no address";
    for (addrinfo* a = addrs->get(); a; a = a->ai_next) {
        tcp_socket s(
            ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
        if (!s.valid()) continue;
        if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                last = std::strerror(errno);
                continue;
            }
            pollfd p{s.fd(), POLLOUT, 0};
            const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
            int err = ready > 0 ? 0 : ETIMEDOUT;
            socklen_t len = sizeof err;
            if (ready > 0) ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                last = std::strerror(err);
                continue;
            }
        }
        ::fcntl(s.fd(), F_SETFL, ::fcntl(s.fd(), F_GETFL) & ~O_NONBLOCK);
        set_timeouts(s.fd(), timeout);
        return s;
    }
    return make_error("cannot connect to %s:%u: %s", host.c_str(), static_cast<unsigned>(port),
                      last.c_str());
}

bool tcp_send_all(const tcp_socket& s, std::span<iovec> bufs) {
    return transfer_all(bufs, [&](iovec* v, int count) {
        msghdr m{};
        m.msg_iov = v;
        m.msg_iovlen = static_cast<size_t>(count);
        return ::sendmsg(s.fd(), &m, MSG_NOSIGNAL);  // a closed peer is a false, not SIGPIPE
    });
}

bool tcp_receive_all(const tcp_socket& s, std::span<iovec> bufs) {
    return transfer_all(bufs, [&](iovec* v, int count) { return ::readv(s.fd(), v, count); });
}

}  // namespace actorlm::kv

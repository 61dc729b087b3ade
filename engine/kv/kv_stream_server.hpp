// kv_stream_server: a producer's side of the KV byte stream. It listens on an
// ephemeral port of the engine's cluster host; a consumer connects, shows the token
// of a ticket its pull was given (kv_transfer_endpoint::open_stream), and receives
// that ticket's blocks straight from the cache (no user-space copy). At most
// max_connections streams run at once; a connection beyond that is closed at once,
// and the consumer pulls through the actors instead. Owns its threads: the
// destructor ends every stream and joins them.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "base/result.hpp"
#include "kv/socket_workers.hpp"

namespace actorlm::kv {

class kv_transfer_endpoint;

class kv_stream_server {
public:
    static result<std::unique_ptr<kv_stream_server>> start(
        std::shared_ptr<kv_transfer_endpoint> endpoint, const std::string& host,
        size_t max_connections = 8);
    ~kv_stream_server();
    kv_stream_server(const kv_stream_server&) = delete;
    kv_stream_server& operator=(const kv_stream_server&) = delete;

    uint16_t port() const { return port_; }

private:
    kv_stream_server(std::shared_ptr<kv_transfer_endpoint> endpoint, tcp_socket listener,
                     uint16_t port, size_t max_connections);
    void accept_loop();

    std::shared_ptr<kv_transfer_endpoint> endpoint_;
    tcp_socket listener_;
    uint16_t port_;
    socket_workers connections_;
    std::thread acceptor_;
};

}  // namespace actorlm::kv

// kv_stream_server implementation. The wire is minimal because the ticket was agreed
// over the actors: the consumer writes the 32-byte token, the producer answers with
// the ticket's block payloads back to back and closes.
#include "kv/kv_stream_server.hpp"

#include "kv/kv_transfer_endpoint.hpp"

namespace actorlm::kv {

result<std::unique_ptr<kv_stream_server>> kv_stream_server::start(
    std::shared_ptr<kv_transfer_endpoint> endpoint, const std::string& host,
    size_t max_connections) {
    uint16_t port = 0;
    auto listener = tcp_listen(host, port);
    if (!listener) return make_error("KV stream: %s", listener.message().c_str());
    return std::unique_ptr<kv_stream_server>(
        new kv_stream_server(std::move(endpoint), std::move(*listener), port, max_connections));
}

kv_stream_server::kv_stream_server(std::shared_ptr<kv_transfer_endpoint> endpoint,
                                   tcp_socket listener, uint16_t port, size_t max_connections)
    : endpoint_(std::move(endpoint)),
      listener_(std::move(listener)),
      port_(port),
      connections_(max_connections),
      acceptor_([this] { accept_loop(); }) {}

kv_stream_server::~kv_stream_server() {
    listener_.shut_down();  // wakes accept()
    acceptor_.join();
    connections_.stop();
}

void kv_stream_server::accept_loop() {
    const auto timeout = endpoint_->config().pull_timeout;
    for (;;) {
        auto s = std::make_shared<tcp_socket>(tcp_accept(listener_, timeout));
        if (!s->valid()) return;  // shut down
        auto ep = endpoint_;
        connections_.run([s] { return std::move(*s); },
                         [ep](const tcp_socket& c) {
                             std::string token(kv_transfer_endpoint::k_token_size, '\0');
                             iovec v{token.data(), token.size()};
                             if (tcp_receive_all(c, std::span<iovec>(&v, 1)))
                                 ep->send_stream(token, c);
                         });
    }
}

}  // namespace actorlm::kv

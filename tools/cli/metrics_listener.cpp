// metrics_listener implementation: an asynchronous accept loop and one short
// session per connection (read one request with a 5 s deadline, write the answer,
// close), all on the listener's io_context thread.
#include "metrics_listener.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <thread>

namespace actorlm::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct session : std::enable_shared_from_this<session> {
    session(tcp::socket s, const std::function<std::string()>& r)
        : stream(std::move(s)), render(r) {}

    void run() {
        stream.expires_after(std::chrono::seconds(5));
        http::async_read(stream, buffer, request,
                         [self = shared_from_this()](beast::error_code ec, size_t) {
                             if (!ec) self->answer();
                         });
    }

    void answer() {
        const bool ok = request.method() == http::verb::get &&
                        request.target().substr(0, request.target().find('?')) == "/metrics";
        response.version(request.version());
        response.keep_alive(false);
        response.result(ok ? http::status::ok : http::status::not_found);
        response.set(http::field::content_type,
                     ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain");
        response.body() = ok ? render() : "only GET /metrics is served here\n";
        response.prepare_payload();
        http::async_write(stream, response, [self = shared_from_this()](beast::error_code, size_t) {
            beast::error_code ignored;
            self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        });
    }

    beast::tcp_stream stream;
    const std::function<std::string()>& render;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
};

}  // namespace

struct metrics_listener::impl {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::function<std::string()> render;
    std::thread thread;

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
            if (ec) return;  // closed: stopping
            std::make_shared<session>(std::move(s), render)->run();
            accept();
        });
    }
};

metrics_listener::metrics_listener(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

result<std::unique_ptr<metrics_listener>> metrics_listener::start(
    const std::string& host, uint16_t port, std::function<std::string()> render) {
    auto p = std::make_unique<impl>();
    p->render = std::move(render);
    beast::error_code ec;
    tcp::resolver resolver(p->io);
    const auto found = resolver.resolve(host, std::to_string(port), ec);
    if (ec || found.empty())
        return make_error("metrics: cannot resolve '%s': %s", host.c_str(), ec.message().c_str());
    const tcp::endpoint ep = found.begin()->endpoint();
    p->acceptor.open(ep.protocol(), ec);
    if (!ec) p->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) p->acceptor.bind(ep, ec);
    if (!ec) p->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        return make_error("metrics: cannot listen on %s:%u: %s", host.c_str(),
                          static_cast<unsigned>(port), ec.message().c_str());
    p->accept();
    p->thread = std::thread([raw = p.get()] { raw->io.run(); });
    return std::unique_ptr<metrics_listener>(new metrics_listener(std::move(p)));
}

metrics_listener::~metrics_listener() {
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t metrics_listener::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace actorlm::cli

// http_server: acceptor, I/O threads, signal handling and graceful drain (see
// http_server.hpp). Member order in impl matters: the io_context is destroyed
// before the session_host that sessions destroyed with it still report to.
#include "net/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/ssl.hpp>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "net/api_error.hpp"
#include "net/http_session.hpp"

namespace actorlm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct http_server::impl {
    impl(server_options opts, request_handler& handler)
        : options(std::move(opts)), host{handler, options} {}

    server_options options;
    session_host host;
    std::mutex mu;
    std::condition_variable stopped_cv;
    bool stopped = false;
    std::atomic<bool> stopping{false};
    std::mutex sessions_mu;
    std::vector<std::weak_ptr<http_connection>> sessions;
    std::optional<asio::ssl::context> tls;  // set when options name a certificate
    size_t accepts_since_prune = 0;

    asio::io_context ioc;
    tcp::acceptor acceptor{ioc};
    asio::signal_set signals{ioc};
    asio::steady_timer drain_deadline{ioc};
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
    std::vector<std::thread> threads;
    uint16_t bound_port = 0;

    void accept() {
        acceptor.async_accept(
            asio::make_strand(ioc), [this](boost::system::error_code ec, tcp::socket socket) {
                if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
                if (!ec) {
                    boost::system::error_code ignored;
                    socket.set_option(tcp::no_delay(true), ignored);  // SSE chunks go out at once
                    const bool over_cap = options.max_connections > 0 &&
                                          host.num_sessions >= options.max_connections;
                    std::shared_ptr<http_connection> session;
                    if (tls)
                        session = std::make_shared<tls_http_session>(
                            beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls), host);
                    else
                        session = std::make_shared<plain_http_session>(
                            beast::tcp_stream(std::move(socket)), host);
                    if (over_cap) {
                        const api_error err = service_unavailable(
                            "The server has " + std::to_string(options.max_connections) +
                            " open connections, its limit (--max-connections); retry later.");
                        session->refuse(err.http_status, err.to_json(), err.extra_headers());
                    } else {
                        remember(session);
                        session->run();
                    }
                }
                accept();
            });
    }

    void remember(const std::shared_ptr<http_connection>& session) {
        std::lock_guard lock(sessions_mu);
        if (++accepts_since_prune >= 256) {
            std::erase_if(sessions, [](const auto& w) { return w.expired(); });
            accepts_since_prune = 0;
        }
        sessions.push_back(session);
    }

    // Runs on an I/O thread.
    void begin_drain() {
        if (host.draining.exchange(true)) return;
        boost::system::error_code ignored;
        acceptor.close(ignored);
        signals.cancel(ignored);
        std::vector<std::shared_ptr<http_connection>> live;
        {
            std::lock_guard lock(sessions_mu);
            for (auto& w : sessions)
                if (auto s = w.lock()) live.push_back(std::move(s));
        }
        for (auto& s : live) s->post([s] { s->drain(); });
        live.clear();
        drain_deadline.expires_after(std::chrono::seconds(options.drain_timeout_s));
        drain_deadline.async_wait([this](boost::system::error_code ec) {
            if (!ec) finish();  // in-flight requests did not finish in time
        });
        if (host.num_sessions == 0) finish();
    }

    void finish() {
        if (stopping.exchange(true)) return;
        work.reset();
        ioc.stop();
        std::lock_guard lock(mu);
        stopped = true;
        stopped_cv.notify_all();
    }

    void join() {
        for (auto& t : threads)
            if (t.joinable()) t.join();
        threads.clear();
    }
};

http_server::http_server(server_options options, request_handler& handler)
    : impl_(std::make_unique<impl>(std::move(options), handler)) {
    impl* p = impl_.get();
    p->host.on_session_closed = [p] {
        if (p->host.draining && p->host.num_sessions == 0 && !p->stopping)
            asio::post(p->ioc, [p] { p->finish(); });
    };
}

http_server::~http_server() {
    impl_->finish();
    impl_->join();
}

namespace {

// A TLS server context from PEM files: TLS 1.2 or newer, the chain and key checked to
// belong together, and client certificates verified against `ca` when asked for.
result<asio::ssl::context> make_tls_context(const server_options& o) {
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    boost::system::error_code ec;
    if (ctx.use_certificate_chain_file(o.ssl_certfile, ec))
        return make_error("--ssl-certfile %s: %s", o.ssl_certfile.c_str(), ec.message().c_str());
    if (ctx.use_private_key_file(o.ssl_keyfile, asio::ssl::context::pem, ec))
        return make_error("--ssl-keyfile %s: %s", o.ssl_keyfile.c_str(), ec.message().c_str());
    if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
        return make_error("--ssl-keyfile %s is not the key of --ssl-certfile %s",
                          o.ssl_keyfile.c_str(), o.ssl_certfile.c_str());
    if (!o.ssl_ca_certs.empty() && ctx.load_verify_file(o.ssl_ca_certs, ec))
        return make_error("--ssl-ca-certs %s: %s", o.ssl_ca_certs.c_str(), ec.message().c_str());
    if (o.ssl_cert_reqs == 1) ctx.set_verify_mode(asio::ssl::verify_peer);
    if (o.ssl_cert_reqs == 2)
        ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    return ctx;
}

}  // namespace

status http_server::start() {
    impl& p = *impl_;
    if (!p.options.ssl_certfile.empty() || !p.options.ssl_keyfile.empty()) {
        if (p.options.ssl_certfile.empty() || p.options.ssl_keyfile.empty())
            return make_error("HTTPS needs both --ssl-certfile and --ssl-keyfile");
        auto ctx = make_tls_context(p.options);
        if (!ctx) return ctx.err();
        p.tls.emplace(std::move(ctx).value());
    } else if (!p.options.ssl_ca_certs.empty() || p.options.ssl_cert_reqs != 0) {
        return make_error("--ssl-ca-certs and --ssl-cert-reqs need --ssl-certfile and --ssl-keyfile");
    }
    boost::system::error_code ec;
    tcp::resolver resolver(p.ioc);
    auto endpoints = resolver.resolve(p.options.host, std::to_string(p.options.port), ec);
    if (ec || endpoints.empty())
        return make_error("cannot resolve host '%s': %s", p.options.host.c_str(),
                          ec.message().c_str());
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    if (p.acceptor.open(endpoint.protocol(), ec) ||
        p.acceptor.set_option(asio::socket_base::reuse_address(true), ec) ||
        p.acceptor.bind(endpoint, ec) ||
        p.acceptor.listen(asio::socket_base::max_listen_connections, ec))
        return make_error("cannot listen on %s:%u: %s", p.options.host.c_str(),
                          static_cast<unsigned>(p.options.port), ec.message().c_str());
    p.bound_port = p.acceptor.local_endpoint().port();
    p.accept();
    if (p.options.handle_signals) {
        p.signals.add(SIGINT);
        p.signals.add(SIGTERM);
        p.signals.async_wait([&p](boost::system::error_code e, int) {
            if (!e) p.begin_drain();
        });
    }
    const int32_t n = std::max<int32_t>(1, p.options.io_threads);
    for (int32_t i = 0; i < n; ++i) p.threads.emplace_back([&p] { p.ioc.run(); });
    return status::success();
}

uint16_t http_server::port() const { return impl_->bound_port; }

void http_server::wait() {
    {
        std::unique_lock lock(impl_->mu);
        impl_->stopped_cv.wait(lock, [this] { return impl_->stopped; });
    }
    impl_->join();
}

void http_server::request_shutdown() {
    impl* p = impl_.get();
    asio::post(p->ioc, [p] { p->begin_drain(); });
}

int64_t http_server::num_connections() const { return impl_->host.num_sessions; }

}  // namespace actorlm::net

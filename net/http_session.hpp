// http_session: one client connection, over plain TCP or TLS (the same code, templated
// on the stream). Reads requests (header first, so that oversized bodies get 413 and
// `Expect: 100-continue` is honoured), passes them to its request_handler, and writes
// responses from a queue: complete ones with Content-Length, streams with chunked
// transfer encoding. While a request is in flight a watch read detects a client that
// hangs up (EOF), as does a failed write; either fires the handler's on_disconnect
// (aborting its engine requests). Every member runs on the session's strand; post() is
// the only thread-safe entry.
#pragma once

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "net/request_handler.hpp"
#include "net/http_server.hpp"
#include "net/response_sink.hpp"

namespace actorlm::net {

/// What sessions share with their server (outlives every session).
struct session_host {
    request_handler& handler;
    const server_options& options;
    std::atomic<bool> draining{false};
    std::atomic<int64_t> num_sessions{0};
    std::function<void()> on_session_closed;  // called from the session's destructor
};

/// What the server holds of a connection, whatever its transport.
class http_connection : public response_sink {
public:
    /// Starts the connection: the TLS handshake where there is one, then the first request.
    virtual void run() = 0;
    /// Answers `status` with `body` (JSON) and `extra_headers` without reading a request,
    /// then closes: for a connection over the server's cap.
    virtual void refuse(int status, std::string body, std::string extra_headers) = 0;
    /// Graceful shutdown: close now when idle, else after the current response. On the strand.
    virtual void drain() = 0;
};

/// `Stream`: beast::tcp_stream, or beast::ssl_stream over one (HTTPS).
template <class Stream>
class http_session final : public http_connection,
                           public std::enable_shared_from_this<http_session<Stream>> {
public:
    http_session(Stream stream, session_host& host);
    ~http_session() override;

    void run() override;
    void refuse(int status, std::string body, std::string extra_headers) override;
    void drain() override;

    void post(std::function<void()> fn) override;
    using response_sink::send;
    void send(int status, std::string_view content_type, std::string body,
              std::string_view extra_headers) override;
    void start_stream(std::string_view content_type) override;
    void write(std::string data) override;
    void end_stream() override;
    void on_disconnect(std::function<void()> fn) override;
    bool disconnected() const override { return closed_; }

private:
    enum class phase { reading, handling, closed };
    static constexpr bool k_tls = !std::is_same_v<Stream, boost::beast::tcp_stream>;

    /// The TCP layer under the stream: timeouts and the socket.
    boost::beast::tcp_stream& tcp() { return boost::beast::get_lowest_layer(stream_); }

    void read_header();
    void on_header(boost::beast::error_code ec, size_t bytes);
    void read_body();
    void on_body(boost::beast::error_code ec, size_t bytes);
    void watch_for_hangup();
    void on_watch(boost::beast::error_code ec, size_t bytes);
    void enqueue(std::string bytes);
    void flush();
    void on_written(boost::beast::error_code ec, size_t bytes);
    void exchange_done();
    void reject_and_close(int status, std::string body, std::string_view extra_headers = {});
    void close();
    void close_after_draining_input();

    Stream stream_;
    session_host& host_;
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    phase phase_ = phase::reading;
    bool keep_alive_ = true;
    bool http10_ = false;  // HTTP/1.0 has no chunked encoding: stream raw, then close
    bool close_after_write_ = false;
    bool exchange_finished_ = false;  // the handler ended its response (send/end_stream)
    bool streaming_ = false;
    bool watching_ = false;          // a hang-up watch read is outstanding
    bool read_after_watch_ = false;  // next request is read once the watch completes
    bool closed_ = false;
    std::function<void()> on_disconnect_;
    std::deque<std::string> pending_;  // bytes not yet handed to the socket
    std::vector<std::string> in_flight_;
    bool writing_ = false;
};

using plain_http_session = http_session<boost::beast::tcp_stream>;
using tls_http_session = http_session<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace actorlm::net

// http_session: one client connection. Reads requests (header first, so that
// oversized bodies get 413 and `Expect: 100-continue` is honoured), passes them
// to the api_router, and writes responses from a queue: complete ones with
// Content-Length, streams with chunked transfer encoding. While a request is in
// flight a watch read detects a client that hangs up (EOF), as does a failed
// write; either fires the handler's on_disconnect (aborting its engine requests).
// Every member runs on the session's strand; post() is the only thread-safe entry.
#pragma once

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "net/response_sink.hpp"

namespace actorlm::net {

/// What sessions share with their server (outlives every session).
struct session_host {
    api_router& router;
    const server_options& options;
    std::atomic<bool> draining{false};
    std::atomic<int64_t> num_sessions{0};
    std::function<void()> on_session_closed;  // called from the session's destructor
};

class http_session final : public response_sink, public std::enable_shared_from_this<http_session> {
public:
    http_session(boost::asio::ip::tcp::socket socket, session_host& host);
    ~http_session() override;

    /// Starts reading the first request.
    void run();
    /// Answers `status` with `body` (JSON) and `extra_headers` without reading a request,
    /// then closes: for a connection over the server's cap.
    void refuse(int status, std::string body, std::string extra_headers);
    /// Graceful shutdown: close now when idle, else after the current response.
    void drain();

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

    boost::beast::tcp_stream stream_;
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

}  // namespace actorlm::net

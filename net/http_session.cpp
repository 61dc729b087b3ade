// http_session: the TLS handshake, request reading, response framing (Content-Length or chunked),
// the write queue and hang-up detection (see http_session.hpp).
#include "net/http_session.hpp"

#include <array>
#include <iterator>
#include <cstdio>

#include <boost/asio/write.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/ssl.hpp>

#include "net/api_error.hpp"

namespace actorlm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Bytes a client may send ahead (pipelining) while a response is in flight before
// the session stops watching its socket; beyond that only failed writes detect a hang-up.
constexpr size_t k_watch_buffer_limit = 64 * 1024;

std::string status_line(int status) {
    const auto reason = http::obsolete_reason(static_cast<http::status>(status));
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
}

}  // namespace

template <class Stream>
http_session<Stream>::http_session(Stream stream, session_host& host)
    : stream_(std::move(stream)), host_(host) {
    ++host_.num_sessions;
}

template <class Stream>
http_session<Stream>::~http_session() {
    --host_.num_sessions;
    if (host_.on_session_closed) host_.on_session_closed();
}

template <class Stream>
void http_session<Stream>::run() {
    if constexpr (k_tls) {
        asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
            // Bounded like a request head: a client that connects and never finishes the
            // handshake is closed at the keep-alive timeout.
            self->tcp().expires_after(std::chrono::seconds(self->host_.options.idle_timeout_s));
            self->stream_.async_handshake(asio::ssl::stream_base::server,
                                          [self](beast::error_code ec) {
                                              if (ec) return self->close();
                                              self->read_header();
                                          });
        });
    } else {
        asio::dispatch(stream_.get_executor(),
                       beast::bind_front_handler(&http_session<Stream>::read_header,
                                                 this->shared_from_this()));
    }
}

template <class Stream>
void http_session<Stream>::refuse(int status, std::string body, std::string extra_headers) {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this(), status,
                                            body = std::move(body),
                                            headers = std::move(extra_headers)]() mutable {
        self->reject_and_close(status, std::move(body), headers);
    });
}

template <class Stream>
void http_session<Stream>::drain() {
    if (closed_) return;
    if (phase_ == phase::reading) return close();  // idle between requests
    close_after_write_ = true;
}

template <class Stream>
void http_session<Stream>::post(std::function<void()> fn) {
    asio::post(stream_.get_executor(), std::move(fn));
}

template <class Stream>
void http_session<Stream>::read_header() {
    if (closed_) return;
    if (host_.draining) return close();
    phase_ = phase::reading;
    exchange_finished_ = false;
    streaming_ = false;
    on_disconnect_ = nullptr;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(host_.options.header_limit_bytes));
    parser_->body_limit(host_.options.body_limit_bytes);
    tcp().expires_after(std::chrono::seconds(host_.options.idle_timeout_s));
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&http_session<Stream>::on_header, this->shared_from_this()));
}

template <class Stream>
void http_session<Stream>::on_header(beast::error_code ec, size_t) {
    if (closed_) return;
    if (ec == http::error::header_limit)
        return reject_and_close(431, invalid_request("Request headers are too large.").to_json());
    // Beast checks Content-Length against the body limit while parsing the header.
    if (ec == http::error::body_limit)
        return reject_and_close(413, body_too_large(host_.options.body_limit_bytes).to_json());
    if (ec) return close();  // EOF between requests, timeout, garbage
    const auto& head = parser_->get();
    if (std::distance(head.begin(), head.end()) > host_.options.max_header_fields)
        return reject_and_close(
            431, invalid_request("Too many request header fields (the limit is " +
                                 std::to_string(host_.options.max_header_fields) + ").")
                     .to_json());
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue"))
        enqueue("HTTP/1.1 100 Continue\r\n\r\n");
    read_body();
}

template <class Stream>
void http_session<Stream>::read_body() {
    tcp().expires_after(std::chrono::seconds(host_.options.request_timeout_s));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session<Stream>::on_body, this->shared_from_this()));
}

template <class Stream>
void http_session<Stream>::on_body(beast::error_code ec, size_t) {
    if (closed_) return;
    if (ec == http::error::body_limit)
        return reject_and_close(413, body_too_large(host_.options.body_limit_bytes).to_json());
    if (ec) return close();
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    http10_ = msg.version() < 11;
    http_request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.authorization = std::string(msg[http::field::authorization]);
    req.body = std::move(msg.body());
    phase_ = phase::handling;
    tcp().expires_never();  // generation may take long; hang-ups are caught by the watch
    watch_for_hangup();
    host_.handler.handle(req, this->shared_from_this());
}

template <class Stream>
void http_session<Stream>::watch_for_hangup() {
    if (watching_ || closed_ || buffer_.size() > k_watch_buffer_limit) return;
    watching_ = true;
    stream_.async_read_some(buffer_.prepare(4096),
                            beast::bind_front_handler(&http_session<Stream>::on_watch, this->shared_from_this()));
}

template <class Stream>
void http_session<Stream>::on_watch(beast::error_code ec, size_t bytes) {
    watching_ = false;
    if (closed_) return;
    if (!ec) {
        buffer_.commit(bytes);  // a pipelined request: kept for the next read
        if (phase_ == phase::handling) return watch_for_hangup();
    } else if (ec != asio::error::operation_aborted) {
        return close();  // EOF or reset; an unfinished response is aborted by close()
    }
    if (read_after_watch_) {
        read_after_watch_ = false;
        read_header();
    }
}

template <class Stream>
void http_session<Stream>::send(int status, std::string_view content_type, std::string body,
                        std::string_view extra_headers) {
    if (closed_ || exchange_finished_ || streaming_) return;
    exchange_finished_ = true;
    if (!keep_alive_ || host_.draining) close_after_write_ = true;
    std::string head = status_line(status);
    head += "Content-Type: ";
    head += content_type;
    head += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    head += extra_headers;
    head += close_after_write_ ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
    head += body;
    enqueue(std::move(head));
}

template <class Stream>
void http_session<Stream>::start_stream(std::string_view content_type) {
    if (closed_ || exchange_finished_ || streaming_) return;
    streaming_ = true;
    if (http10_) close_after_write_ = true;  // the end of the body is the end of the connection
    std::string head = status_line(200);
    head += "Content-Type: ";
    head += content_type;
    head += "\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n";
    if (!http10_) head += "Transfer-Encoding: chunked\r\n";
    head += (keep_alive_ && !host_.draining && !http10_) ? "Connection: keep-alive\r\n\r\n"
                                                         : "Connection: close\r\n\r\n";
    enqueue(std::move(head));
}

template <class Stream>
void http_session<Stream>::write(std::string data) {
    if (closed_ || !streaming_ || exchange_finished_ || data.empty()) return;
    if (http10_) return enqueue(std::move(data));
    char size_line[24];
    std::snprintf(size_line, sizeof(size_line), "%zx\r\n", data.size());
    std::string chunk(size_line);
    chunk += data;
    chunk += "\r\n";
    enqueue(std::move(chunk));
}

template <class Stream>
void http_session<Stream>::end_stream() {
    if (closed_ || !streaming_ || exchange_finished_) return;
    exchange_finished_ = true;
    if (!keep_alive_ || host_.draining) close_after_write_ = true;
    if (http10_) {
        // Nothing to append: closing the connection ends the body. An empty write
        // still runs the completion path (exchange_done -> close).
        return enqueue(std::string());
    }
    enqueue("0\r\n\r\n");
}

template <class Stream>
void http_session<Stream>::on_disconnect(std::function<void()> fn) { on_disconnect_ = std::move(fn); }

template <class Stream>
void http_session<Stream>::enqueue(std::string bytes) {
    if (closed_) return;
    pending_.push_back(std::move(bytes));
    if (!writing_) flush();
}

template <class Stream>
void http_session<Stream>::flush() {
    // Everything queued goes out in one gather write: many small SSE chunks coalesce.
    in_flight_.assign(std::make_move_iterator(pending_.begin()),
                      std::make_move_iterator(pending_.end()));
    pending_.clear();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(in_flight_.size());
    for (const auto& s : in_flight_) buffers.emplace_back(asio::buffer(s));
    writing_ = true;
    asio::async_write(stream_, buffers,
                      beast::bind_front_handler(&http_session<Stream>::on_written, this->shared_from_this()));
}

template <class Stream>
void http_session<Stream>::on_written(beast::error_code ec, size_t) {
    writing_ = false;
    in_flight_.clear();
    if (closed_) return;
    if (ec) return close();  // client gone; close() aborts an unfinished response
    if (!pending_.empty()) return flush();
    if (exchange_finished_ && phase_ == phase::handling) exchange_done();
}

template <class Stream>
void http_session<Stream>::exchange_done() {
    on_disconnect_ = nullptr;
    if (close_after_write_) return watching_ ? close() : close_after_draining_input();
    phase_ = phase::reading;
    if (watching_) {
        // The watch read must finish before the parser may read the socket again.
        read_after_watch_ = true;
        beast::error_code ignored;
        tcp().socket().cancel(ignored);
        return;
    }
    read_header();
}

template <class Stream>
void http_session<Stream>::reject_and_close(int status, std::string body,
                                    std::string_view extra_headers) {
    keep_alive_ = false;
    phase_ = phase::handling;
    send(status, "application/json", std::move(body), extra_headers);
}

template <class Stream>
void http_session<Stream>::close() {
    if (closed_) return;
    closed_ = true;
    phase_ = phase::closed;
    pending_.clear();
    beast::error_code ignored;
    tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
    // A response still in progress cannot reach anyone now: let its handler abort the
    // engine work. Clearing the hook also breaks the session <-> handler reference cycle.
    auto fn = std::move(on_disconnect_);
    on_disconnect_ = nullptr;
    if (fn) fn();
}

template <class Stream>
void http_session<Stream>::close_after_draining_input() {
    // Half-close and read what the client still sends (e.g. the rest of an oversized
    // body) so it sees our response instead of the reset that closing with unread
    // input causes. Bounded by a 2 s timeout. Call only with no read outstanding.
    closed_ = true;
    phase_ = phase::closed;
    pending_.clear();
    beast::error_code ignored;
    tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    tcp().expires_after(std::chrono::seconds(2));
    struct drainer {
        std::shared_ptr<http_session<Stream>> self;
        std::shared_ptr<std::array<char, 4096>> buf;
        void operator()(beast::error_code ec, size_t) {
            if (ec) {
                beast::error_code ignored_ec;
                self->tcp().socket().close(ignored_ec);
                return;
            }
            self->stream_.async_read_some(asio::buffer(*buf), std::move(*this));
        }
    };
    auto buf = std::make_shared<std::array<char, 4096>>();
    stream_.async_read_some(asio::buffer(*buf), drainer{this->shared_from_this(), buf});
}

template class http_session<beast::tcp_stream>;
template class http_session<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace actorlm::net

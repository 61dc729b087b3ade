// http_download implementation: a C++20 coroutine per GET on a private io_context. Each
// step arms the stream's own expiry (Beast's tcp_stream timeout) or, for name
// resolution, a timer that cancels the resolver, so every wait is bounded. The body is
// read through a buffer_body parser into a fixed buffer and handed on piece by piece,
// so a multi-gigabyte file never sits in memory.
#include "net/hub/http_download.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>

#include "net/http_url.hpp"

namespace actorlm::net::hub {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr size_t k_error_body_limit = 64 * 1024;

// The URL as messages show it: without its query, which for a CDN is a signature of a
// thousand characters that would bury the reason.
std::string shown_url(const std::string& url) {
    const size_t query = url.find('?');
    if (query == std::string::npos || url.size() - query <= 64) return url;
    return url.substr(0, query) + "?...";
}

error transport_error(const std::string& url, const std::string& what) {
    return error{"GET " + shown_url(url) + " failed: " + what, error_kind::unavailable};
}

std::string seconds_text(std::chrono::milliseconds ms) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(ms.count()) / 1000.0);
    return buf;
}

// What one hop produced: a response, or a transport failure message.
struct hop_outcome {
    http_get_response response;
    std::string failure;  // empty: the exchange completed
};

template <class Stream>
asio::awaitable<hop_outcome> exchange(Stream& stream, beast::tcp_stream& socket,
                                      const http_url& url, const http_get_request& request,
                                      bool send_token, const body_sink& on_body) {
    hop_outcome out;
    beast::error_code ec;
    http::request<http::empty_body> req{http::verb::get, url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::user_agent, "actorlm");
    req.set(http::field::accept_encoding, "identity");
    req.set(http::field::connection, "close");
    if (send_token && !request.bearer_token.empty())
        req.set(http::field::authorization, "Bearer " + request.bearer_token);
    if (request.range_start > 0)
        req.set(http::field::range, "bytes=" + std::to_string(request.range_start) + "-");
    socket.expires_after(request.read_timeout);
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.failure = ec == beast::error::timeout
                          ? "the request could not be sent in " +
                                seconds_text(request.read_timeout) + " (read timeout)"
                          : "sending the request: " + ec.message();
        co_return out;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    parser.header_limit(64 * 1024);
    socket.expires_after(request.read_timeout);
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        out.failure = ec == beast::error::timeout
                          ? "no answer for " + seconds_text(request.read_timeout) +
                                " (read timeout)"
                          : "reading the response header: " + ec.message();
        co_return out;
    }
    const auto& head = parser.get();
    out.response.status = head.result_int();
    out.response.reason = std::string(head.reason());
    for (const auto& field : head) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        out.response.headers[name] = std::string(field.value());
    }
    const bool success = out.response.status >= 200 && out.response.status < 300;
    const bool redirect = out.response.status >= 300 && out.response.status < 400;
    std::array<char, 64 * 1024> chunk;
    while (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        socket.expires_after(request.read_timeout);
        co_await http::async_read(stream, buffer, parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec == http::error::need_buffer) ec = {};
        const size_t n = chunk.size() - parser.get().body().size;
        if (n > 0 && success) {
            out.response.body_bytes += n;
            if (status st = on_body(out.response, std::string_view(chunk.data(), n)); !st) {
                out.failure = st.message();
                co_return out;
            }
        } else if (n > 0 && !redirect && out.response.error_body.size() < k_error_body_limit) {
            out.response.error_body.append(chunk.data(),
                                           std::min(n, k_error_body_limit -
                                                           out.response.error_body.size()));
        }
        if (ec) {
            out.failure = ec == beast::error::timeout
                              ? "no data for " + seconds_text(request.read_timeout) +
                                    " (read timeout)"
                              : "the connection broke after " +
                                    std::to_string(out.response.body_bytes) +
                                    " body bytes: " + ec.message();
            co_return out;
        }
    }
    beast::error_code ignored;
    socket.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return out;
}

asio::awaitable<result<tcp::resolver::results_type>> resolve_host(
    const http_url& url, std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex);
    bool timed_out = false;
    timer.expires_after(timeout);
    timer.async_wait([&](beast::error_code ec) {
        if (ec) return;
        timed_out = true;
        resolver.cancel();
    });
    beast::error_code ec;
    auto endpoints = co_await resolver.async_resolve(url.host, url.port,
                                                     asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    if (timed_out) co_return error{"resolving " + url.host + " timed out", error_kind::unavailable};
    if (ec)
        co_return error{"resolving " + url.host + ": " + ec.message(), error_kind::unavailable};
    co_return endpoints;
}

asio::awaitable<result<http_get_response>> get_following_redirects(const http_get_request& request,
                                                                   const body_sink& on_body,
                                                                   ssl::context& tls) {
    auto ex = co_await asio::this_coro::executor;
    auto first = parse_http_url(request.url);
    if (!first) co_return first.err();
    const std::string token_host = first->host + ":" + first->port;
    std::string current = request.url;
    for (int hop = 0;; ++hop) {
        auto parsed = parse_http_url(current);
        if (!parsed) co_return parsed.err();
        const http_url& url = *parsed;
        const bool send_token = url.host + ":" + url.port == token_host;
        auto endpoints = co_await resolve_host(url, request.connect_timeout);
        if (!endpoints) co_return transport_error(current, endpoints.message());
        hop_outcome outcome;
        beast::error_code ec;
        if (url.https) {
            ssl::stream<beast::tcp_stream> stream(ex, tls);
            auto& socket = beast::get_lowest_layer(stream);
            if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()))
                co_return transport_error(current, "cannot set the TLS server name");
            stream.set_verify_mode(ssl::verify_peer);
            stream.set_verify_callback(ssl::host_name_verification(url.host));
            socket.expires_after(request.connect_timeout);
            co_await socket.async_connect(*endpoints, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return transport_error(current, "connecting: " + ec.message());
            socket.expires_after(request.connect_timeout);
            co_await stream.async_handshake(ssl::stream_base::client,
                                            asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return transport_error(current, "TLS handshake: " + ec.message());
            outcome = co_await exchange(stream, socket, url, request, send_token, on_body);
        } else {
            beast::tcp_stream stream(ex);
            stream.expires_after(request.connect_timeout);
            co_await stream.async_connect(*endpoints, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return transport_error(current, "connecting: " + ec.message());
            outcome = co_await exchange(stream, stream, url, request, send_token, on_body);
        }
        if (!outcome.failure.empty()) co_return transport_error(current, outcome.failure);
        http_get_response& res = outcome.response;
        res.final_url = current;
        const auto location = res.headers.find("location");
        if (res.status >= 300 && res.status < 400 && location != res.headers.end()) {
            if (hop >= request.max_redirects)
                co_return transport_error(request.url, "more than " +
                                                           std::to_string(request.max_redirects) +
                                                           " redirects");
            current = resolve_location(url, location->second);
            continue;
        }
        co_return std::move(res);
    }
}

}  // namespace

std::string http_get_response::header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

result<http_get_response> http_get(const http_get_request& request, const body_sink& on_body) {
    asio::io_context ioc;
    ssl::context tls(ssl::context::tls_client);
    tls.set_default_verify_paths();
    std::optional<result<http_get_response>> outcome;
    // co_spawn hands a value-returning coroutine's result to a handler that needs a
    // default-constructible type; result<> is not, so the coroutine stores it instead.
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            outcome.emplace(co_await get_following_redirects(request, on_body, tls));
        },
        [&](std::exception_ptr e) {
            if (e && !outcome) outcome.emplace(transport_error(request.url, "unexpected exception"));
        });
    ioc.run();
    if (!outcome) return transport_error(request.url, "the request did not finish");
    return std::move(*outcome);
}

result<http_get_response> http_get_text(const http_get_request& request, std::string* body,
                                        size_t max_bytes) {
    body->clear();
    return http_get(request, [&](const http_get_response&, std::string_view bytes) -> status {
        if (body->size() + bytes.size() > max_bytes)
            return make_error("the response is larger than %zu bytes", max_bytes);
        body->append(bytes);
        return {};
    });
}

}  // namespace actorlm::net::hub

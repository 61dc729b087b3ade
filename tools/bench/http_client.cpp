// http_client: blocking Beast client (see http_client.hpp). Streams are read
// with a buffer_body parser so chunked SSE bodies arrive piece by piece.
#include "bench/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <optional>

namespace actorlm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct http_client::impl {
    std::string host;
    uint16_t port = 0;
    int32_t timeout_s = 60;
    asio::io_context ioc;
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;

    status ensure_connected() {
        if (stream && stream->socket().is_open()) return status::success();
        stream.emplace(ioc);
        buffer.clear();
        asio::ip::tcp::resolver resolver(ioc);
        beast::error_code ec;
        auto endpoints = resolver.resolve(host, std::to_string(port), ec);
        if (ec) return make_error("resolve %s: %s", host.c_str(), ec.message().c_str());
        stream->expires_after(std::chrono::seconds(timeout_s));
        stream->connect(endpoints, ec);
        if (ec) {
            stream.reset();
            return make_error("connect %s:%u: %s", host.c_str(), static_cast<unsigned>(port),
                              ec.message().c_str());
        }
        return status::success();
    }

    status send(std::string_view method, std::string_view target, std::string_view body,
                const std::map<std::string, std::string>& headers) {
        if (auto st = ensure_connected(); !st) return st;
        http::request<http::string_body> req;
        req.method_string(method);
        req.target(target);
        req.version(11);
        req.set(http::field::host, host);
        req.set(http::field::user_agent, "actorlm-http-client");
        if (!body.empty() || method == "POST")
            req.set(http::field::content_type, "application/json");
        for (const auto& [k, v] : headers) req.set(k, v);
        req.body() = std::string(body);
        req.prepare_payload();
        beast::error_code ec;
        stream->expires_after(std::chrono::seconds(timeout_s));
        http::write(*stream, req, ec);
        if (ec) {
            stream.reset();
            return make_error("write request: %s", ec.message().c_str());
        }
        return status::success();
    }
};

http_client::http_client(std::string host, uint16_t port, int32_t timeout_s)
    : impl_(std::make_unique<impl>()) {
    impl_->host = std::move(host);
    impl_->port = port;
    impl_->timeout_s = timeout_s;
}

http_client::~http_client() = default;

void http_client::disconnect() {
    if (impl_->stream) {
        beast::error_code ignored;
        impl_->stream->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        impl_->stream->socket().close(ignored);
    }
    impl_->stream.reset();
}

status http_client::send_and_close(std::string_view method, std::string_view target,
                                   std::string_view body,
                                   const std::map<std::string, std::string>& headers) {
    auto sent = impl_->send(method, target, body, headers);
    disconnect();
    return sent;
}

result<client_response> http_client::request(std::string_view method, std::string_view target,
                                             std::string_view body,
                                             const std::map<std::string, std::string>& headers) {
    std::string collected;
    auto r = stream(
        method, target, body,
        [&collected](std::string_view bytes) {
            collected.append(bytes);
            return true;
        },
        headers);
    if (!r) return r;
    r->body = std::move(collected);
    return r;
}

result<client_response> http_client::stream(std::string_view method, std::string_view target,
                                            std::string_view body,
                                            const std::function<bool(std::string_view)>& on_body,
                                            const std::map<std::string, std::string>& headers) {
    impl& p = *impl_;
    if (auto st = p.send(method, target, body, headers); !st) return st.err();
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    if (method == "HEAD") parser.skip(true);
    beast::error_code ec;
    p.stream->expires_after(std::chrono::seconds(p.timeout_s));
    http::read_header(*p.stream, p.buffer, parser, ec);
    if (ec) {
        disconnect();
        return make_error("read response header: %s", ec.message().c_str());
    }
    client_response out;
    out.status = static_cast<int>(parser.get().result_int());
    for (const auto& field : parser.get()) {
        std::string name(field.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(field.value());
    }
    char buf[8192];
    while (!parser.is_done()) {
        parser.get().body().data = buf;
        parser.get().body().size = sizeof(buf);
        p.stream->expires_after(std::chrono::seconds(p.timeout_s));
        http::read_some(*p.stream, p.buffer, parser, ec);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) {
            disconnect();
            return make_error("read response body: %s", ec.message().c_str());
        }
        const size_t got = sizeof(buf) - parser.get().body().size;
        if (got > 0 && !on_body(std::string_view(buf, got))) {
            disconnect();
            return out;
        }
    }
    if (!parser.get().keep_alive()) disconnect();
    return out;
}

}  // namespace actorlm::net

// The Beast server over real loopback sockets with the scripted backend:
// keep-alive, pipelining, Expect: 100-continue, body limit (413), API key,
// SSE streaming, a hang-up aborting its request, 512 concurrent streams, and
// graceful shutdown by request and by SIGTERM.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <csignal>
#include <functional>
#include <future>
#include <thread>

#include "bench/http_client.hpp"
#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "bench/load_generator.hpp"
#include "net/sse.hpp"
#include "scripted_backend.hpp"
#include "support/throwaway_pki.hpp"

using namespace actorlm;
using namespace actorlm::net;
using actorlm::test::scripted_backend;

namespace {

// Server + scripted backend. Teardown mirrors `actorlm serve`: drain, stop the backend
// (its callbacks hold connections), then destroy the server and its io_context.
struct live_server {
    explicit live_server(server_options opts = {}, std::string api_key = {},
                         std::chrono::microseconds step = std::chrono::microseconds(200),
                         int64_t max_requests_in_flight = 0)
        : backend_ptr(std::make_unique<scripted_backend>(step)),
          backend(*backend_ptr),
          metrics("scripted"),
          router(backend, metrics, [&] {
              router_options ro{std::move(api_key), {"scripted"}, ""};
              ro.max_requests_in_flight = max_requests_in_flight;
              return ro;
          }()) {
        opts.port = 0;
        server_ptr = std::make_unique<http_server>(opts, router);
        const auto st = server_ptr->start();
        INFO(st.message());
        REQUIRE(st.ok());
    }
    ~live_server() {
        server_ptr->request_shutdown();
        server_ptr->wait();
        backend_ptr.reset();
        server_ptr.reset();
    }
    uint16_t port() const { return server_ptr->port(); }
    http_server& server() { return *server_ptr; }

    std::unique_ptr<scripted_backend> backend_ptr;
    scripted_backend& backend;
    server_metrics metrics;
    api_router router;
    std::unique_ptr<http_server> server_ptr;
};

std::string expected_text(int32_t n) {
    std::string s;
    for (int32_t j = 0; j < n; ++j) s += scripted_backend::token_text(j, 0);
    return s;
}

// Raw exchange for framing tests the client class hides (pipelining, 100-continue).
struct raw_socket {
    explicit raw_socket(uint16_t port) : socket(ioc) {
        boost::asio::ip::tcp::resolver resolver(ioc);
        boost::asio::connect(socket, resolver.resolve("127.0.0.1", std::to_string(port)));
    }
    void send(const std::string& bytes) { boost::asio::write(socket, boost::asio::buffer(bytes)); }
    std::string read_until(const std::string& delim) {
        boost::system::error_code ec;
        const size_t n =
            boost::asio::read_until(socket, boost::asio::dynamic_buffer(buf), delim, ec);
        REQUIRE_FALSE(ec);
        std::string out = buf.substr(0, n);
        buf.erase(0, n);
        return out;
    }
    std::string read_exact(size_t n) {
        while (buf.size() < n) {
            char tmp[4096];
            boost::system::error_code ec;
            const size_t got = socket.read_some(boost::asio::buffer(tmp), ec);
            REQUIRE_FALSE(ec);
            buf.append(tmp, got);
        }
        std::string out = buf.substr(0, n);
        buf.erase(0, n);
        return out;
    }
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket;
    std::string buf;
};

std::string completion_request(const std::string& body) {
    return "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

// An HTTPS client for the TLS tests: verifies the server against `ca`, presents
// `cert`/`key` when given, and speaks HTTP/1.1 through Beast.
struct tls_client {
    tls_client(uint16_t port, const std::string& ca, const std::string& cert = {},
               const std::string& key = {})
        : ctx(make_context(ca, cert, key)), stream(ioc, ctx) {
        boost::asio::ip::tcp::resolver resolver(ioc);
        boost::beast::get_lowest_layer(stream).connect(
            resolver.resolve("127.0.0.1", std::to_string(port)));
        boost::beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
        stream.handshake(boost::asio::ssl::stream_base::client, handshake_error);
        // TLS 1.3 servers check the client certificate after the client's handshake ends:
        // a refusal then shows on the first read.
    }
    // Configured before the stream exists: an SSL object copies its context's certificate
    // when it is made.
    static boost::asio::ssl::context make_context(const std::string& ca, const std::string& cert,
                                                  const std::string& key) {
        boost::asio::ssl::context c(boost::asio::ssl::context::tls_client);
        c.load_verify_file(ca);
        c.set_verify_mode(boost::asio::ssl::verify_peer);
        if (!cert.empty()) {
            c.use_certificate_chain_file(cert);
            c.use_private_key_file(key, boost::asio::ssl::context::pem);
        }
        return c;
    }
    boost::beast::http::response<boost::beast::http::string_body> request(
        const std::string& target, const std::string& body, boost::system::error_code& ec) {
        namespace http = boost::beast::http;
        http::request<http::string_body> req(http::verb::post, target, 11);
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
        http::response<http::string_body> res;
        boost::beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
        http::write(stream, req, ec);
        if (!ec) http::read(stream, buf, res, ec);
        return res;
    }
    boost::asio::io_context ioc;
    boost::asio::ssl::context ctx;
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream;
    boost::beast::flat_buffer buf;
    boost::system::error_code handshake_error;
};

#define REQUIRE_TEST_PKI()                                                  \
    do {                                                                    \
        if (!actorlm::test::make_throwaway_pki().ok) {                      \
            MESSAGE("skipped: " << actorlm::test::make_throwaway_pki().error); \
            return;                                                         \
        }                                                                   \
    } while (0)

}  // namespace

TEST_CASE("http server: keep-alive serves several requests on one connection") {
    live_server s;
    http_client client("127.0.0.1", s.port());
    for (int i = 0; i < 3; ++i) {
        auto r = client.request("POST", "/v1/completions", R"({"prompt":"a","max_tokens":2})");
        REQUIRE(r.ok());
        CHECK(r->status == 200);
        CHECK(r->headers["connection"] == "keep-alive");
        CHECK(r->body.find(expected_text(2)) != std::string::npos);
    }
    CHECK(s.server().num_connections() == 1);
}

TEST_CASE("http server: pipelined requests are answered in order") {
    live_server s;
    raw_socket sock(s.port());
    sock.send(completion_request(R"({"prompt":"a","max_tokens":3})") +
              completion_request(R"({"prompt":"a","max_tokens":1})"));
    for (int n : {3, 1}) {
        const std::string head = sock.read_until("\r\n\r\n");
        CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
        const size_t at = head.find("Content-Length: ");
        REQUIRE(at != std::string::npos);
        const std::string body = sock.read_exact(std::stoul(head.substr(at + 16)));
        CHECK(body.find("\"text\":\"" + expected_text(n) + "\"") != std::string::npos);
    }
}

TEST_CASE("http server: Expect 100-continue gets an interim response") {
    live_server s;
    raw_socket sock(s.port());
    const std::string body = R"({"prompt":"a","max_tokens":1})";
    sock.send(
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n");
    CHECK(sock.read_until("\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n");
    sock.send(body);
    CHECK(sock.read_until("\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("http server: HTTP/1.0 clients get an unchunked stream ended by close") {
    live_server s;
    raw_socket sock(s.port());
    const std::string body = R"({"prompt":"a","max_tokens":3,"stream":true})";
    sock.send("POST /v1/completions HTTP/1.0\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\n\r\n" + body);
    std::string all;
    char tmp[4096];
    boost::system::error_code ec;
    for (;;) {
        const size_t n = sock.socket.read_some(boost::asio::buffer(tmp), ec);
        all.append(tmp, n);
        if (ec) break;
    }
    CHECK(ec == boost::asio::error::eof);
    CHECK(all.find("Transfer-Encoding") == std::string::npos);
    CHECK(all.find("Connection: close") != std::string::npos);
    const std::string stream_body = all.substr(all.find("\r\n\r\n") + 4);
    std::vector<std::string> events;
    sse_decoder dec;
    dec.feed(stream_body, [&](const std::string& e) { events.push_back(e); });
    REQUIRE(events.size() == 4);
    CHECK(events.back() == "[DONE]");
}

TEST_CASE("http server: a connection over --max-connections gets 503 with Retry-After") {
    server_options opts;
    opts.max_connections = 2;
    live_server s(opts);
    auto idle1 = std::make_unique<raw_socket>(s.port());
    auto idle2 = std::make_unique<raw_socket>(s.port());
    for (int i = 0; i < 100 && s.server().num_connections() < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(s.server().num_connections() == 2);
    {
        raw_socket third(s.port());
        const std::string head = third.read_until("\r\n\r\n");
        CHECK(head.rfind("HTTP/1.1 503", 0) == 0);
        CHECK(head.find("Retry-After: 1\r\n") != std::string::npos);
        CHECK(head.find("Connection: close") != std::string::npos);
        const size_t at = head.find("Content-Length: ");
        REQUIRE(at != std::string::npos);
        const std::string body = third.read_exact(std::stoul(head.substr(at + 16)));
        CHECK(body.find("--max-connections") != std::string::npos);
    }
    idle1.reset();  // a slot frees: the next client is served
    for (int i = 0; i < 200 && s.server().num_connections() >= 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    http_client client("127.0.0.1", s.port());
    auto r = client.request("POST", "/v1/completions", R"({"prompt":"a","max_tokens":1})");
    REQUIRE(r.ok());
    CHECK(r->status == 200);
}

TEST_CASE("http server: too many or too large header fields get 431") {
    server_options opts;
    opts.max_header_fields = 8;
    opts.header_limit_bytes = 2048;
    live_server s(opts);
    {
        raw_socket sock(s.port());
        std::string req = "GET /health HTTP/1.1\r\nHost: x\r\n";
        for (int i = 0; i < 9; ++i) req += "X-Field-" + std::to_string(i) + ": v\r\n";
        sock.send(req + "\r\n");
        CHECK(sock.read_until("\r\n\r\n").rfind("HTTP/1.1 431", 0) == 0);
    }
    {
        raw_socket sock(s.port());
        sock.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'b') +
                  "\r\n\r\n");
        CHECK(sock.read_until("\r\n\r\n").rfind("HTTP/1.1 431", 0) == 0);
    }
    raw_socket ok(s.port());  // within both limits
    ok.send("GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n");
    CHECK(ok.read_until("\r\n\r\n").rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("http server: a client that trickles its head or body is cut off at the timeout") {
    server_options opts;
    opts.idle_timeout_s = 1;
    opts.request_timeout_s = 1;
    live_server s(opts);
    // Reads until the server closes; the seconds that took.
    auto seconds_until_closed = [](raw_socket& sock, const std::function<void()>& trickle) {
        const auto t0 = std::chrono::steady_clock::now();
        std::atomic<bool> closed{false};
        std::thread reader([&] {
            char tmp[256];
            boost::system::error_code ec;
            while (!ec) sock.socket.read_some(boost::asio::buffer(tmp), ec);
            closed = true;
        });
        for (int i = 0; i < 50 && !closed; ++i) trickle();  // ~10 s of trickling at most
        reader.join();
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    {  // slowloris: a header byte every 200 ms never completes the head
        raw_socket sock(s.port());
        sock.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\n");
        const double secs = seconds_until_closed(sock, [&] {
            boost::system::error_code ec;
            boost::asio::write(sock.socket, boost::asio::buffer("X", 1), ec);
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        });
        CHECK(secs < 4.0);
    }
    {  // a body that stops halfway
        raw_socket sock(s.port());
        sock.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"p");
        const double secs = seconds_until_closed(sock, [&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        });
        CHECK(secs < 4.0);
    }
    http_client client("127.0.0.1", s.port());  // everyone else is still served
    auto r = client.request("POST", "/v1/completions", R"({"prompt":"a","max_tokens":1})");
    REQUIRE(r.ok());
    CHECK(r->status == 200);
}

TEST_CASE("http server: requests beyond the queue limit get 503 with Retry-After, then room frees") {
    // 2 requests at once (--max-num-seqs running plus --max-queued-requests waiting);
    // a token every 20 ms, so the first two hold their slots for ~1 s.
    live_server s({}, {}, std::chrono::milliseconds(20), 2);
    const std::string slow = R"({"prompt":"a","max_tokens":50})";
    auto first = std::async(std::launch::async, [&] {
        http_client c("127.0.0.1", s.port());
        return c.request("POST", "/v1/completions", slow)->status;
    });
    auto second = std::async(std::launch::async, [&] {
        http_client c("127.0.0.1", s.port());
        return c.request("POST", "/v1/completions", slow)->status;
    });
    for (int i = 0; i < 200 && s.backend.num_active() < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(s.backend.num_active() == 2);
    http_client c("127.0.0.1", s.port());
    auto refused = c.request("POST", "/v1/completions", R"({"prompt":"a","max_tokens":1})");
    REQUIRE(refused.ok());
    CHECK(refused->status == 503);
    CHECK(refused->headers["retry-after"] == "1");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(refused->body).get(doc) == simdjson::SUCCESS);
    CHECK(std::string(doc["error"]["code"].get_string().value()) == "service_unavailable");
    CHECK(std::string(doc["error"]["message"].get_string().value()).find("--max-queued-requests") !=
          std::string::npos);
    CHECK(first.get() == 200);
    CHECK(second.get() == 200);
    auto later = c.request("POST", "/v1/completions", R"({"prompt":"a","max_tokens":1})");
    REQUIRE(later.ok());
    CHECK(later->status == 200);  // the finished requests gave their slots back
}

TEST_CASE("http server: oversized bodies get 413 with an OpenAI error") {
    server_options opts;
    opts.body_limit_bytes = 1024;
    live_server s(opts);
    const std::string big = R"({"prompt":")" + std::string(4096, 'x') + "\"}";
    {
        http_client client("127.0.0.1", s.port());
        auto r = client.request("POST", "/v1/completions", big);
        if (!r) MESSAGE(r.message());
        REQUIRE(r.ok());
        CHECK(r->status == 413);
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        REQUIRE(parser.parse(r->body).get(doc) == simdjson::SUCCESS);
        CHECK(std::string(doc["error"]["code"].get_string().value()) == "request_too_large");
    }
    {  // chunked bodies have no Content-Length: the parser's limit catches them
        raw_socket sock(s.port());
        std::string req =
            "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 4; ++i) req += "400\r\n" + std::string(1024, 'y') + "\r\n";
        req += "0\r\n\r\n";
        sock.send(req);
        CHECK(sock.read_until("\r\n\r\n").rfind("HTTP/1.1 413", 0) == 0);
    }
    http_client ok("127.0.0.1", s.port());  // the server still serves small requests
    CHECK(ok.request("POST", "/v1/completions", R"({"prompt":"a","max_tokens":1})")->status == 200);
}

TEST_CASE("http server: API key over the wire") {
    live_server s({}, "k123");
    http_client client("127.0.0.1", s.port());
    auto denied = client.request("GET", "/v1/models");
    REQUIRE(denied.ok());
    CHECK(denied->status == 401);
    CHECK(denied->body.find("invalid_api_key") != std::string::npos);
    auto allowed = client.request("GET", "/v1/models", {}, {{"Authorization", "Bearer k123"}});
    CHECK(allowed->status == 200);
    CHECK(client.request("GET", "/metrics")->status == 200);
}

TEST_CASE("http server: SSE stream arrives as chunks and ends with [DONE]") {
    live_server s;
    http_client client("127.0.0.1", s.port());
    std::vector<std::string> events;
    sse_decoder dec;
    int pieces = 0;
    auto r =
        client.stream("POST", "/v1/completions", R"({"prompt":"a","max_tokens":20,"stream":true})",
                      [&](std::string_view bytes) {
                          ++pieces;
                          dec.feed(bytes, [&](const std::string& e) { events.push_back(e); });
                          return true;
                      });
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->headers["content-type"] == "text/event-stream");
    CHECK(r->headers["transfer-encoding"] == "chunked");
    CHECK(pieces > 1);  // delivered incrementally, not as one body
    REQUIRE(events.size() == 21);
    CHECK(events.back() == "[DONE]");
    std::string text;
    simdjson::dom::parser parser;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
        simdjson::dom::element doc;
        REQUIRE(parser.parse(events[i]).get(doc) == simdjson::SUCCESS);
        text += std::string(doc["choices"].at(0)["text"].get_string().value());
    }
    CHECK(text == expected_text(20));
    // The connection is reusable after a stream.
    CHECK(client.request("GET", "/health")->status == 200);
}

TEST_CASE("http server: a client disconnecting mid-stream aborts its request") {
    live_server s({}, {}, std::chrono::milliseconds(2));
    {
        http_client client("127.0.0.1", s.port());
        int events = 0;
        sse_decoder dec;
        auto r = client.stream("POST", "/v1/completions",
                               R"({"prompt":"a","max_tokens":4000,"stream":true})",
                               [&](std::string_view bytes) {
                                   dec.feed(bytes, [&](const std::string&) { ++events; });
                                   return events < 3;  // hang up after three events
                               });
        REQUIRE(r.ok());
    }
    for (int i = 0; i < 500 && s.backend.num_active() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(s.backend.num_aborts() == 1);
    CHECK(s.backend.num_active() == 0);
    for (int i = 0; i < 200 && s.server().num_connections() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(s.server().num_connections() == 0);
}

TEST_CASE("http server: a non-streamed request is aborted when its client leaves") {
    live_server s({}, {}, std::chrono::milliseconds(2));
    {
        raw_socket sock(s.port());
        sock.send(completion_request(R"({"prompt":"a","max_tokens":4000})"));
        // Hang up only once the request runs, so the abort (not a refusal) is what is tested.
        for (int i = 0; i < 1000 && s.backend.max_active() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        REQUIRE(s.backend.max_active() > 0);
    }  // closes the socket
    for (int i = 0; i < 500 && s.backend.num_active() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(s.backend.num_aborts() == 1);
    CHECK(s.backend.num_active() == 0);
}

TEST_CASE("http server: 512 concurrent streams") {
    server_options opts;
    opts.io_threads = 2;
    live_server s(opts, {}, std::chrono::milliseconds(5));
    const int n = 512;
    std::vector<load_request> requests(n);
    for (auto& r : requests)
        r.body =
            R"({"prompt":"a","max_tokens":40,"stream":true,"stream_options":{"include_usage":true}})";
    load_options lo;
    lo.port = s.port();
    lo.max_concurrency = n;
    lo.timeout_s = 120;
    const auto results = run_load(lo, requests);
    int ok = 0;
    for (const auto& r : results) {
        if (!r.success) {
            MESSAGE(r.error);
            continue;
        }
        ok += r.text == expected_text(40) && r.output_tokens == 40 ? 1 : 0;
    }
    CHECK(ok == n);
    CHECK(s.backend.max_active() >= static_cast<size_t>(n * 9 / 10));  // truly concurrent
}

TEST_CASE("http server: graceful shutdown finishes in-flight streams, refuses new connections") {
    live_server s({}, {}, std::chrono::milliseconds(3));
    const uint16_t port = s.port();
    std::promise<void> first_event;
    auto stream = std::async(std::launch::async, [&] {
        http_client client("127.0.0.1", port);
        std::vector<std::string> events;
        sse_decoder dec;
        bool signalled = false;
        auto r = client.stream(
            "POST", "/v1/completions", R"({"prompt":"a","max_tokens":60,"stream":true})",
            [&](std::string_view bytes) {
                dec.feed(bytes, [&](const std::string& e) { events.push_back(e); });
                if (!signalled && !events.empty()) {
                    signalled = true;
                    first_event.set_value();
                }
                return true;
            });
        return std::make_pair(r.ok(), events);
    });
    first_event.get_future().wait();
    s.server().request_shutdown();
    s.server().wait();  // returns only after the stream completed
    const auto [ok, events] = stream.get();
    CHECK(ok);
    REQUIRE(events.size() == 61);
    CHECK(events.back() == "[DONE]");
    http_client late("127.0.0.1", port, 2);
    CHECK_FALSE(late.request("GET", "/health").ok());
}

TEST_CASE("http server: SIGTERM drains and stops the server") {
    server_options opts;
    opts.handle_signals = true;
    live_server s(opts, {}, std::chrono::milliseconds(2));
    auto stream = std::async(std::launch::async, [&] {
        http_client client("127.0.0.1", s.port());
        return client.request("POST", "/v1/completions", R"({"prompt":"a","max_tokens":40})");
    });
    // Signal only once the request is in flight: a fixed sleep raced the client's connect on a
    // loaded sanitizer run, and a request that arrives after SIGTERM is rightly refused.
    for (int i = 0; i < 1000 && s.backend.max_active() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(s.backend.max_active() > 0);
    std::raise(SIGTERM);
    s.server().wait();
    auto r = stream.get();
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->body.find(expected_text(40)) != std::string::npos);
}

TEST_CASE("https: completions, keep-alive and streams over TLS, plaintext refused") {
    REQUIRE_TEST_PKI();
    const auto& pki = actorlm::test::make_throwaway_pki();
    server_options opts;
    opts.ssl_certfile = pki.cert("a1");
    opts.ssl_keyfile = pki.key("a1");
    live_server s(opts);
    tls_client client(s.port(), pki.cert("caA"));
    REQUIRE_FALSE(client.handshake_error);
    for (int i = 0; i < 2; ++i) {  // one connection, two requests
        boost::system::error_code ec;
        auto res = client.request("/v1/completions", R"({"prompt":"a","max_tokens":2})", ec);
        REQUIRE_FALSE(ec);
        CHECK(res.result_int() == 200);
        CHECK(res.body().find(expected_text(2)) != std::string::npos);
    }
    CHECK(s.server().num_connections() == 1);
    boost::system::error_code ec;
    auto streamed = client.request(
        "/v1/completions", R"({"prompt":"a","max_tokens":3,"stream":true})", ec);
    REQUIRE_FALSE(ec);
    std::vector<std::string> events;
    sse_decoder dec;
    dec.feed(streamed.body(), [&](const std::string& e) { events.push_back(e); });
    REQUIRE(events.size() == 4);
    CHECK(events.back() == "[DONE]");

    // A plaintext request to the TLS port gets no HTTP answer: the handshake fails.
    raw_socket plain(s.port());
    plain.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got;
    char tmp[512];
    boost::system::error_code rec;
    for (;;) {
        const size_t n = plain.socket.read_some(boost::asio::buffer(tmp), rec);
        got.append(tmp, n);
        if (rec) break;
    }
    CHECK(got.find("HTTP/1.1") == std::string::npos);
}

TEST_CASE("https: a client leaving a TLS stream aborts its request") {
    REQUIRE_TEST_PKI();
    const auto& pki = actorlm::test::make_throwaway_pki();
    server_options opts;
    opts.ssl_certfile = pki.cert("a1");
    opts.ssl_keyfile = pki.key("a1");
    live_server s(opts, {}, std::chrono::milliseconds(2));
    {
        tls_client client(s.port(), pki.cert("caA"));
        REQUIRE_FALSE(client.handshake_error);
        namespace http = boost::beast::http;
        http::request<http::string_body> req(http::verb::post, "/v1/completions", 11);
        req.set(http::field::host, "127.0.0.1");
        req.body() = R"({"prompt":"a","max_tokens":4000,"stream":true})";
        req.prepare_payload();
        http::write(client.stream, req);
        http::response_parser<http::string_body> parser;
        http::read_header(client.stream, client.buf, parser);  // the stream began
        CHECK(parser.get().result_int() == 200);
    }  // the TCP connection closes without a TLS goodbye
    for (int i = 0; i < 500 && s.backend.num_active() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(s.backend.num_aborts() == 1);
    CHECK(s.backend.num_active() == 0);
}

TEST_CASE("https: --ssl-cert-reqs 2 admits only clients with a certificate from --ssl-ca-certs") {
    REQUIRE_TEST_PKI();
    const auto& pki = actorlm::test::make_throwaway_pki();
    server_options opts;
    opts.ssl_certfile = pki.cert("a1");
    opts.ssl_keyfile = pki.key("a1");
    opts.ssl_ca_certs = pki.cert("caA");
    opts.ssl_cert_reqs = 2;
    live_server s(opts);
    auto status_of = [&](const std::string& cert, const std::string& key) {
        tls_client client(s.port(), pki.cert("caA"), cert, key);
        if (client.handshake_error) {
            MESSAGE("handshake: " << client.handshake_error.message());
            return -1;
        }
        boost::system::error_code ec;
        auto res = client.request("/v1/completions", R"({"prompt":"a","max_tokens":1})", ec);
        if (ec) MESSAGE("request: " << ec.message());
        return ec ? -1 : static_cast<int>(res.result_int());
    };
    CHECK(status_of(pki.cert("a2"), pki.key("a2")) == 200);  // CA A's client
    CHECK(status_of({}, {}) == -1);                          // no certificate
    CHECK(status_of(pki.cert("b1"), pki.key("b1")) == -1);   // another CA's
}

TEST_CASE("https: unreadable or mismatched TLS files are start errors naming the file") {
    REQUIRE_TEST_PKI();
    const auto& pki = actorlm::test::make_throwaway_pki();
    scripted_backend backend;
    server_metrics metrics("scripted");
    api_router router(backend, metrics, router_options{{}, {"scripted"}, ""});
    auto start_error = [&](server_options opts) {
        opts.port = 0;
        http_server server(opts, router);
        auto st = server.start();
        return st.ok() ? std::string() : st.message();
    };
    server_options missing;
    missing.ssl_certfile = (pki.dir / "nope.pem").string();
    missing.ssl_keyfile = pki.key("a1");
    CHECK(start_error(missing).find("nope.pem") != std::string::npos);
    server_options mismatched;
    mismatched.ssl_certfile = pki.cert("a1");
    mismatched.ssl_keyfile = pki.key("a2");
    CHECK(start_error(mismatched).find(pki.key("a2")) != std::string::npos);
    server_options half;
    half.ssl_certfile = pki.cert("a1");
    CHECK(start_error(half).find("both --ssl-certfile and --ssl-keyfile") != std::string::npos);
}

// media_fetch against a loopback HTTP server started here: a plain fetch, the timeout
// (a host that never answers), the byte limit (declared and streamed), HTTP status,
// redirects (followed, looping, to file:// refused), data: URLs and file:// under
// --allowed-local-media-path (symlinks and ".." cannot escape).
#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/media_fetch.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::net;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// One thread per connection; answers by path. Stops when destroyed.
class loopback_server {
public:
    loopback_server() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        port_ = acceptor_.local_endpoint().port();
        thread_ = std::thread([this] { accept_loop(); });
    }
    ~loopback_server() {
        stop_ = true;
        boost::system::error_code ec;
        // Wake the blocking accept with a connection of our own.
        tcp::socket s(ioc_);
        s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
        thread_.join();
        for (auto& t : handlers_) t.join();
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }

private:
    void accept_loop() {
        while (!stop_) {
            tcp::socket s(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(s, ec);
            if (ec || stop_) break;
            handlers_.emplace_back([this, sock = std::move(s)]() mutable { serve(sock); });
        }
    }
    void serve(tcp::socket& s) {
        boost::system::error_code ec;
        std::string request(1, '\0');
        if (s.read_some(asio::buffer(request), ec) != 1 || ec) return;
        if (request[0] == '\x16') {  // a TLS ClientHello: answer like a plain HTTP server
            asio::write(s, asio::buffer(std::string("HTTP/1.1 400 Bad Request\r\n\r\n")), ec);
            return;
        }
        asio::read_until(s, asio::dynamic_buffer(request), "\r\n\r\n", ec);
        if (ec) return;
        const std::string path = request.substr(4, request.find(' ', 4) - 4);
        auto reply = [&](const std::string& text) { asio::write(s, asio::buffer(text), ec); };
        if (path == "/img") {
            reply("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Type: image/png\r\n\r\nIMAGEDATA");
        } else if (path == "/slow") {
            for (int i = 0; i < 30 && !stop_; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        } else if (path == "/huge-declared") {
            reply("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\nxxxx");
        } else if (path == "/huge-streamed") {
            reply("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(5000, 'x'));
        } else if (path == "/missing") {
            reply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        } else if (path == "/redirect") {
            reply("HTTP/1.1 302 Found\r\nLocation: /img\r\nContent-Length: 0\r\n\r\n");
        } else if (path == "/loop") {
            reply("HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n");
        } else if (path == "/to-file") {
            reply("HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n");
        } else {
            reply("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n");
        }
    }

    asio::io_context ioc_;
    tcp::acceptor acceptor_;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::vector<std::thread> handlers_;
};

bool fetch_contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

std::string fetch_fails(const std::string& url, const media_fetch_options& o) {
    auto r = fetch_media_all({url}, o);
    REQUIRE(r.size() == 1);
    REQUIRE_FALSE(r[0].ok());
    CHECK(r[0].kind() == error_kind::invalid_argument);
    return r[0].message();
}

}  // namespace

TEST_CASE("media fetch: http bodies, status, byte limit, redirects") {
    loopback_server server;
    media_fetch_options o;
    o.max_bytes = 1000;
    auto ok = fetch_media_all({server.url("/img"), server.url("/redirect")}, o);
    REQUIRE(ok.size() == 2);
    REQUIRE(ok[0].ok());
    CHECK(ok[0].value() == "IMAGEDATA");
    REQUIRE(ok[1].ok());
    CHECK(ok[1].value() == "IMAGEDATA");
    CHECK(fetch_contains(fetch_fails(server.url("/missing"), o), "HTTP 404 Not Found"));
    CHECK(fetch_contains(fetch_fails(server.url("/huge-declared"), o), "larger than the limit of 1000"));
    CHECK(fetch_contains(fetch_fails(server.url("/huge-streamed"), o), "larger than the limit of 1000"));
    CHECK(fetch_contains(fetch_fails(server.url("/loop"), o), "more than 5 redirects"));
    const std::string to_file = fetch_fails(server.url("/to-file"), o);
    CHECK(fetch_contains(to_file, "redirect to file:///etc/passwd refused"));
    CHECK(fetch_contains(fetch_fails("ftp://127.0.0.1/x.png", o), "unsupported URL scheme"));
    // https to a plain-HTTP port: the TLS handshake fails, named as such.
    std::string https = server.url("/img");
    https.insert(4, "s");
    CHECK(fetch_contains(fetch_fails(https, o), "TLS handshake"));
}

TEST_CASE("media fetch: a host that never answers times out, fetches run concurrently") {
    loopback_server server;
    media_fetch_options o;
    o.timeout = std::chrono::milliseconds(300);
    const auto start = std::chrono::steady_clock::now();
    auto r = fetch_media_all({server.url("/slow"), server.url("/slow"), server.url("/img")}, o);
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(r.size() == 3);
    REQUIRE_FALSE(r[0].ok());
    CHECK(fetch_contains(r[0].message(), "timed out after 0.3 s"));
    CHECK_FALSE(r[1].ok());
    CHECK(r[2].ok());
    CHECK(took < std::chrono::milliseconds(2000));  // two timeouts in parallel, not 3 s each
}

TEST_CASE("media fetch: data URLs") {
    auto r = decode_data_url("data:image/png;base64,SU1B R0U=\n", "image/");
    REQUIRE(r.ok());
    CHECK(r.value() == "IMAGE");
    CHECK(decode_data_url("data:image/png;base64,SU1BR0U", "image/").value() == "IMAGE");
    CHECK(fetch_contains(decode_data_url("data:text/plain;base64,SU1BR0U=", "image/").message(),
                   "media type 'text/plain' is not image/*"));
    CHECK(fetch_contains(decode_data_url("data:image/png,rawtext", "image/").message(), "only base64"));
    CHECK(fetch_contains(decode_data_url("data:image/png;base64", "image/").message(), "no ','"));
    CHECK(fetch_contains(decode_data_url("data:image/png;base64,SU1B*R0U=", "image/").message(),
                   "not valid base64"));
    CHECK(fetch_contains(decode_data_url("data:image/png;base64,S", "image/").message(),
                   "length is wrong"));
    CHECK(describe_media_url("data:image/png;base64,AAAAAAAA") == "data:image/png;base64,...");
}

TEST_CASE("media fetch: file URLs only inside --allowed-local-media-path") {
    namespace fs = std::filesystem;
    const fs::path root = actorlm::test::fresh_temp_dir("media-fetch");
    fs::create_directories(root / "allowed" / "sub");
    std::ofstream(root / "allowed" / "sub" / "a b.png") << "INSIDE";
    std::ofstream(root / "secret.png") << "OUTSIDE";
    fs::create_symlink(root / "secret.png", root / "allowed" / "link.png");
    media_fetch_options o;
    const std::string inside = "file://" + (root / "allowed" / "sub" / "a%20b.png").string();
    CHECK(fetch_contains(fetch_fails(inside, o), "without --allowed-local-media-path"));
    o.allowed_local_media_path = (root / "allowed").string();
    auto r = fetch_media_all({inside}, o);
    REQUIRE(r[0].ok());
    CHECK(r[0].value() == "INSIDE");
    CHECK(fetch_contains(fetch_fails("file://" + (root / "secret.png").string(), o),
                   "must be inside --allowed-local-media-path"));
    CHECK(fetch_contains(fetch_fails("file://" + (root / "allowed" / ".." / "secret.png").string(), o),
                   "must be inside"));
    CHECK(fetch_contains(fetch_fails("file://" + (root / "allowed" / "link.png").string(), o),
                   "must be inside"));
    CHECK(fetch_contains(fetch_fails("file://" + (root / "allowed" / "sub").string(), o),
                   "not a regular file"));
    CHECK(fetch_contains(fetch_fails("file://" + (root / "allowed" / "nope.png").string(), o),
                   "cannot open"));
    CHECK(fetch_contains(fetch_fails("file://evil.example" + (root / "allowed").string(), o),
                   "names a host"));
    o.max_bytes = 3;
    CHECK(fetch_contains(fetch_fails(inside, o), "larger than the limit of 3 bytes"));
    fs::remove_all(root);
}

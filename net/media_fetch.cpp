// media_fetch implementation. HTTP(S) fetches are C++20 coroutines on one private
// io_context per fetch_media_all call; each has a deadline timer that cancels whatever
// it is waiting for (name resolution, connect, TLS, write, read), so a slow or silent
// host costs at most the timeout. Local files are opened non-blocking and must be
// regular files (a FIFO would block) no larger than the byte limit.
#include "net/media_fetch.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
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
#include <cctype>
#include <filesystem>
#include <memory>
#include <cerrno>
#include <cstring>
#include <optional>

#include "net/http_url.hpp"
#include "net/percent_decode.hpp"

namespace actorlm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

error media_error(const std::string& message) {
    return error{message, error_kind::invalid_argument};
}

std::string seconds_text(std::chrono::milliseconds ms) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(ms.count()) / 1000.0);
    return buf;
}

struct fetch_outcome {
    std::string bytes;
    std::string error;  // empty: success
};

// One exchange (request written, response read) on an open stream.
template <class Stream>
asio::awaitable<beast::error_code> http_exchange(Stream& stream, const http_url& url,
                                            http::response_parser<http::string_body>& parser) {
    beast::error_code ec;
    http::request<http::empty_body> req{http::verb::get, url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::user_agent, "actorlm");
    req.set(http::field::accept, "image/*, */*;q=0.5");
    req.set(http::field::connection, "close");
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
    beast::flat_buffer buffer;
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
}

// Fetches `original`, following redirects; the deadline timer's expiry cancels the
// resolver and closes the socket of whichever step is waiting.
asio::awaitable<fetch_outcome> fetch_http(std::string original, media_fetch_options options,
                                          ssl::context& tls) {
    auto ex = co_await asio::this_coro::executor;
    const std::string shown = describe_media_url(original);
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex);
    auto timed_out = std::make_shared<bool>(false);
    // The socket of the current hop, for the timer to close.
    auto current = std::make_shared<beast::tcp_stream*>(nullptr);
    timer.expires_at(deadline);
    timer.async_wait([&resolver, timed_out, current](beast::error_code ec) {
        if (ec) return;
        *timed_out = true;
        resolver.cancel();
        if (*current != nullptr) (*current)->close();
    });
    auto fail = [&](const std::string& what) {
        timer.cancel();
        return fetch_outcome{{}, what};
    };
    auto io_failure = [&](const char* step, const beast::error_code& ec) {
        if (*timed_out)
            return fail("fetching " + shown + " timed out after " + seconds_text(options.timeout));
        return fail("fetching " + shown + " failed (" + step + "): " + ec.message());
    };

    std::string url = original;
    for (int hop = 0;; ++hop) {
        auto parsed = parse_http_url(url);
        if (!parsed) co_return fail(parsed.message());  // names the URL
        const http_url& u = parsed.value();
        beast::error_code ec;
        auto endpoints = co_await resolver.async_resolve(
            u.host, u.port, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || *timed_out) co_return io_failure("resolving the host", ec);

        http::response_parser<http::string_body> parser;
        parser.body_limit(options.max_bytes);
        parser.header_limit(64 * 1024);
        if (u.https) {
            ssl::stream<beast::tcp_stream> stream(ex, tls);
            *current = &beast::get_lowest_layer(stream);
            if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str()))
                co_return fail("fetching " + shown + " failed: cannot set the TLS server name");
            stream.set_verify_mode(ssl::verify_peer);
            stream.set_verify_callback(ssl::host_name_verification(u.host));
            co_await beast::get_lowest_layer(stream).async_connect(
                endpoints, asio::redirect_error(asio::use_awaitable, ec));
            if (ec || *timed_out) co_return io_failure("connecting", ec);
            co_await stream.async_handshake(ssl::stream_base::client,
                                            asio::redirect_error(asio::use_awaitable, ec));
            if (ec || *timed_out) co_return io_failure("TLS handshake", ec);
            ec = co_await http_exchange(stream, u, parser);
            *current = nullptr;
        } else {
            beast::tcp_stream stream(ex);
            *current = &stream;
            co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
            if (ec || *timed_out) co_return io_failure("connecting", ec);
            ec = co_await http_exchange(stream, u, parser);
            *current = nullptr;
        }
        if (ec == http::error::body_limit)
            co_return fail("fetching " + shown + " failed: the response is larger than the limit of " +
                           std::to_string(options.max_bytes) + " bytes");
        if (ec || *timed_out) co_return io_failure("reading the response", ec);

        const auto& res = parser.get();
        const unsigned code = res.result_int();
        if (code >= 300 && code < 400 && res.find(http::field::location) != res.end()) {
            if (hop >= options.max_redirects)
                co_return fail("fetching " + shown + " failed: more than " +
                               std::to_string(options.max_redirects) + " redirects");
            const std::string next = resolve_location(u, res[http::field::location]);
            if (classify_media_url(next) != media_url_kind::http)
                co_return fail("fetching " + shown + " failed: redirect to " +
                               describe_media_url(next) +
                               " refused (only http and https redirects are followed)");
            url = next;
            continue;
        }
        if (code < 200 || code >= 300)
            co_return fail("fetching " + shown + " failed: HTTP " + std::to_string(code) + " " +
                           std::string(res.reason()));
        timer.cancel();
        co_return fetch_outcome{std::move(parser.release().body()), {}};
    }
}

}  // namespace


result<std::string> read_local_media(std::string_view url, const media_fetch_options& options) {
    namespace fs = std::filesystem;
    const std::string shown = describe_media_url(url);
    if (classify_media_url(url) != media_url_kind::file)
        return media_error("not a file:// URL: " + shown);
    if (options.allowed_local_media_path.empty())
        return media_error("cannot load local files without --allowed-local-media-path (" + shown +
                           ")");
    std::string_view rest = url.substr(7);
    const size_t slash = rest.find('/');
    const std::string_view host = rest.substr(0, slash);
    if (!host.empty() && host != "localhost")
        return media_error("file URL names a host ('" + std::string(host) + "'): " + shown);
    if (slash == std::string_view::npos) return media_error("file URL has no path: " + shown);
    const std::string path = percent_decode(rest.substr(slash));
    std::error_code ec;
    const fs::path root = fs::canonical(options.allowed_local_media_path, ec);
    if (ec)
        return media_error("--allowed-local-media-path " + options.allowed_local_media_path +
                           " is not usable: " + ec.message());
    // Resolves symlinks and "..", so nothing reaches outside the root by either.
    const fs::path resolved = fs::canonical(path, ec);
    if (ec) return media_error("cannot open " + shown + ": " + ec.message());
    const auto [root_end, unused] =
        std::mismatch(root.begin(), root.end(), resolved.begin(), resolved.end());
    (void)unused;
    if (root_end != root.end() || resolved == root)
        return media_error("file path " + resolved.string() +
                           " must be inside --allowed-local-media-path " + root.string());
    const int fd = ::open(resolved.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return media_error("cannot open " + shown + ": " + std::strerror(errno));
    struct stat st {};
    std::string out;
    std::string failure;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        failure = "cannot read " + shown + ": not a regular file";
    } else if (static_cast<size_t>(st.st_size) > options.max_bytes) {
        failure = "file " + shown + " is larger than the limit of " +
                  std::to_string(options.max_bytes) + " bytes";
    } else {
        out.resize(static_cast<size_t>(st.st_size));
        size_t done = 0;
        while (done < out.size()) {
            const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            done += static_cast<size_t>(n);
        }
        out.resize(done);
    }
    ::close(fd);
    if (!failure.empty()) return media_error(failure);
    return out;
}

std::vector<result<std::string>> fetch_media_all(const std::vector<std::string>& urls,
                                                 const media_fetch_options& options) {
    std::vector<std::optional<result<std::string>>> slots(urls.size());
    asio::io_context ioc;
    std::optional<ssl::context> tls;
    for (size_t i = 0; i < urls.size(); ++i) {
        const std::string& url = urls[i];
        switch (classify_media_url(url)) {
            case media_url_kind::data: slots[i] = decode_data_url(url, "image/"); break;
            case media_url_kind::file: slots[i] = read_local_media(url, options); break;
            case media_url_kind::unsupported:
                slots[i] = media_error("unsupported URL scheme (use http, https, data or file): " +
                                       describe_media_url(url));
                break;
            case media_url_kind::http:
                if (!tls) {
                    tls.emplace(ssl::context::tls_client);
                    tls->set_default_verify_paths();
                }
                asio::co_spawn(ioc, fetch_http(url, options, *tls),
                               [&slots, i, url](std::exception_ptr e, fetch_outcome r) {
                                   if (e)
                                       slots[i] = media_error("fetching " + describe_media_url(url) +
                                                              " failed");
                                   else if (!r.error.empty())
                                       slots[i] = media_error(r.error);
                                   else
                                       slots[i] = std::move(r.bytes);
                               });
                break;
        }
    }
    ioc.run();
    std::vector<result<std::string>> out;
    out.reserve(urls.size());
    for (auto& s : slots) out.push_back(s ? std::move(*s) : media_error("fetch did not finish"));
    return out;
}

}  // namespace actorlm::net

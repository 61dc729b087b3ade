// The PeerConnector's byte stream without actors: a producer endpoint's offered
// blocks go over a loopback TCP connection from its kv_stream_server straight into a
// consumer's cache, bit-identical, for exactly the blocks whose hashes match; a ticket
// is one use and expires; a stream pins its offer past the keep timeout and a release
// made meanwhile waits for it; a stream cut short counts only whole blocks; a cache
// without host memory (a device) streams through copies.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <thread>

#include "kv/kv_connector_registry.hpp"
#include "kv/kv_stream_server.hpp"
#include "kv/kv_transfer_config.hpp"
#include "kv/peer_connector.hpp"
#include "kv/kv_transfer_endpoint.hpp"
#include "support/fake_kv_cache.hpp"

using namespace actorlm;

namespace kv_stream_test {

constexpr int64_t k_stream_layers = 3;
constexpr int32_t k_stream_blocks = 8;
constexpr size_t k_stream_layer_bytes = 4096;
constexpr size_t k_stream_payload = k_stream_layers * k_stream_layer_bytes;

std::shared_ptr<kv::kv_transfer_endpoint> endpoint_for(test::fake_kv_cache& cache,
                                                        std::chrono::milliseconds keep =
                                                            std::chrono::milliseconds(60000)) {
    kv::kv_transfer_endpoint::options o;
    o.block_layer_bytes = k_stream_layer_bytes;
    o.num_layers = k_stream_layers;
    o.keep_timeout = keep;
    o.pull_timeout = std::chrono::milliseconds(2000);
    o.stream_host = "127.0.0.1";
    auto ep = std::make_shared<kv::kv_transfer_endpoint>(o);
    REQUIRE(ep->attach(&cache).ok());
    return ep;
}

core::block_hash hash_of(int32_t b) { return {0xabcu + static_cast<uint64_t>(b), 7}; }

std::vector<core::block_hash> hashes(int32_t first, int32_t n) {
    std::vector<core::block_hash> h;
    for (int32_t b = first; b < first + n; ++b) h.push_back(hash_of(b));
    return h;
}

/// A producer cache whose blocks 0..k_stream_blocks-1 are filled and offered as "t".
struct producer {
    test::fake_kv_cache cache{k_stream_layers, k_stream_blocks, k_stream_layer_bytes};
    std::shared_ptr<kv::kv_transfer_endpoint> ep;
    std::unique_ptr<kv::kv_stream_server> server;

    explicit producer(std::chrono::milliseconds keep = std::chrono::milliseconds(60000)) {
        for (int32_t b = 0; b < k_stream_blocks; ++b) cache.fill(b, static_cast<uint8_t>(b + 1));
        ep = endpoint_for(cache, keep);
        std::vector<int32_t> ids;
        for (int32_t b = 0; b < k_stream_blocks; ++b) ids.push_back(b);
        REQUIRE(ep->offer("t", ids, hashes(0, k_stream_blocks)));
        auto s = kv::kv_stream_server::start(ep, "127.0.0.1");
        REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.message()));
        server = std::move(*s);
    }
};

/// Connects to `p`'s stream with `token` and receives into `into`'s blocks.
int32_t receive(producer& p, const std::string& token, kv::kv_transfer_endpoint& into,
                const std::vector<int32_t>& block_ids) {
    auto s = kv::tcp_connect("127.0.0.1", p.server->port(), std::chrono::milliseconds(2000));
    REQUIRE(s.ok());
    std::string t = token;
    iovec v{t.data(), t.size()};
    REQUIRE(kv::tcp_send_all(*s, std::span<iovec>(&v, 1)));
    return into.receive_stream(*s, block_ids);
}

/// Whether the endpoint hands `id` back to the scheduler within a second (a stream's
/// end is seen by the server thread a moment after the consumer has its bytes).
bool eventually_released(kv::kv_transfer_endpoint& ep, const std::string& id) {
    for (int i = 0; i < 200; ++i) {
        for (const auto& r : ep.take_released())
            if (r == id) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

}  // namespace kv_stream_test

using namespace kv_stream_test;

TEST_CASE("kv stream: offered blocks arrive bit-identical in the consumer's blocks") {
    for (bool host_memory : {true, false}) {
        CAPTURE(host_memory);
        producer p;
        p.cache.expose_host_memory(host_memory);  // off: a device cache, copied through
        test::fake_kv_cache dst(k_stream_layers, k_stream_blocks, k_stream_layer_bytes);
        dst.expose_host_memory(host_memory);
        auto consumer = endpoint_for(dst);

        auto ticket = p.ep->open_stream("t", 2, hashes(2, 5));
        CHECK(ticket.num_blocks == 5);
        CHECK(ticket.token.size() == kv::kv_transfer_endpoint::k_token_size);
        const std::vector<int32_t> into = {7, 6, 5, 4, 3};
        CHECK(receive(p, ticket.token, *consumer, into) == 5);
        for (int32_t i = 0; i < 5; ++i) CHECK(dst.block(into[i]) == p.cache.block(2 + i));
        // The server thread counts the blocks a moment after the consumer has them.
        for (int i = 0; i < 200 && p.ep->stats().blocks_streamed < 5; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        CHECK(p.ep->stats().blocks_saved == 5);
        CHECK(p.ep->stats().blocks_streamed == 5);
        // One use: the same token again gets nothing.
        CHECK(receive(p, ticket.token, *consumer, into) == 0);
    }
}

TEST_CASE("kv stream: only the leading blocks whose hashes match are promised") {
    producer p;
    auto want = hashes(0, 6);
    want[3].high ^= 1;  // another prompt from block 3 on
    CHECK(p.ep->open_stream("t", 0, want).num_blocks == 3);
    CHECK(p.ep->open_stream("t", 9, hashes(9, 1)).num_blocks == 0);  // past the offer
    CHECK(p.ep->open_stream("other", 0, hashes(0, 2)).num_blocks == 0);
    CHECK(p.ep->open_stream("t", 0, {}).token.empty());
    test::fake_kv_cache dst(k_stream_layers, k_stream_blocks, k_stream_layer_bytes);
    auto consumer = endpoint_for(dst);
    CHECK(receive(p, std::string(kv::kv_transfer_endpoint::k_token_size, 'f'), *consumer,
                  {0, 1}) == 0);  // a made-up token
}

TEST_CASE("kv stream: a ticket pins its offer past the keep timeout, and a release waits for it") {
    producer p(std::chrono::milliseconds(10));
    auto ticket = p.ep->open_stream("t", 0, hashes(0, 2));
    REQUIRE(ticket.num_blocks == 2);
    const auto later = kv::kv_transfer_endpoint::clock::now() + std::chrono::milliseconds(500);
    CHECK(p.ep->take_released(later).empty());  // pinned: not expired
    p.ep->release("t");
    CHECK(p.ep->take_released(later).empty());  // released, but a stream is promised
    CHECK(p.ep->offered("t"));
    test::fake_kv_cache dst(k_stream_layers, k_stream_blocks, k_stream_layer_bytes);
    auto consumer = endpoint_for(dst);
    CHECK(receive(p, ticket.token, *consumer, {0, 1}) == 2);
    // The stream ended: the deferred release frees the blocks now.
    CHECK(eventually_released(*p.ep, "t"));
}

TEST_CASE("kv stream: an unredeemed ticket expires and unpins its offer") {
    producer p;
    auto ticket = p.ep->open_stream("t", 0, hashes(0, 2));
    REQUIRE(ticket.num_blocks == 2);
    p.ep->release("t");
    const auto now = kv::kv_transfer_endpoint::clock::now();
    CHECK(p.ep->take_released(now).empty());
    const auto after = p.ep->take_released(now + std::chrono::milliseconds(2500));
    CHECK(after == std::vector<std::string>{"t"});
    test::fake_kv_cache dst(k_stream_layers, k_stream_blocks, k_stream_layer_bytes);
    auto consumer = endpoint_for(dst);
    CHECK(receive(p, ticket.token, *consumer, {0, 1}) == 0);
}

TEST_CASE("kv stream: a stream cut short counts only the blocks that arrived whole") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    kv::tcp_socket sender(fds[0]), receiver(fds[1]);
    std::vector<uint8_t> bytes(k_stream_payload + k_stream_payload / 2, 0x5a);
    std::thread t([&] {
        iovec v{bytes.data(), bytes.size()};
        kv::tcp_send_all(sender, std::span<iovec>(&v, 1));
        sender.shut_down();
    });
    test::fake_kv_cache dst(k_stream_layers, k_stream_blocks, k_stream_layer_bytes);
    auto consumer = endpoint_for(dst);
    CHECK(consumer->receive_stream(receiver, std::vector<int32_t>{0, 1, 2}) == 1);
    t.join();
    CHECK(dst.block(0) == std::vector<uint8_t>(k_stream_payload, 0x5a));
}

TEST_CASE("kv stream: a detached cache receives and sends nothing") {
    producer p;
    auto ticket = p.ep->open_stream("t", 0, hashes(0, 3));
    REQUIRE(ticket.num_blocks == 3);
    p.ep->detach();  // the worker freed its cache
    test::fake_kv_cache dst(k_stream_layers, k_stream_blocks, k_stream_layer_bytes);
    auto consumer = endpoint_for(dst);
    CHECK(receive(p, ticket.token, *consumer, {0, 1, 2}) == 0);
    CHECK(p.ep->stats().blocks_streamed == 0);
}

TEST_CASE("kv stream: connecting to a closed port is an error naming the address") {
    uint16_t port = 0;
    {
        auto l = kv::tcp_listen("127.0.0.1", port);
        REQUIRE(l.ok());
    }  // closed again
    auto s = kv::tcp_connect("127.0.0.1", port, std::chrono::milliseconds(500));
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
    auto bad = kv::tcp_connect("no-such-host.invalid", 1, std::chrono::milliseconds(500));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message().find("no-such-host.invalid") != std::string::npos);
}

TEST_CASE("kv stream: the 'stream' key is checked, and under TLS the bytes stay in the actors") {
    auto make = [](const std::string& stream, bool tls) {
        std::string extra = stream.empty() ? "" : R"(,"kv_connector_extra_config":{"stream":")" + stream + "\"}";
        auto cfg = kv::parse_kv_transfer_config(
            R"({"kv_connector":"PeerConnector","kv_role":"kv_both")" + extra + "}");
        REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? "" : cfg.message()));
        kv::kv_connector_context ctx;
        ctx.block_layer_bytes = k_stream_layer_bytes;
        ctx.num_layers = k_stream_layers;
        ctx.cluster_address = "10.1.2.3:9000";
        ctx.cluster_tls = tls;
        return kv::make_peer_connector(*cfg, ctx);
    };
    auto endpoint_of = [](const kv::kv_connector_pair& p) {
        return p.transfer;
    };
    auto plain = make("", false);
    REQUIRE(plain.ok());
    CHECK(endpoint_of(*plain)->config().stream);
    CHECK(endpoint_of(*plain)->config().stream_host == "10.1.2.3");
    auto tls = make("", true);
    REQUIRE(tls.ok());
    CHECK_FALSE(endpoint_of(*tls)->config().stream);
    auto off = make("false", false);
    REQUIRE(off.ok());
    CHECK_FALSE(endpoint_of(*off)->config().stream);
    auto forced = make("true", true);
    REQUIRE_FALSE(forced.ok());
    CHECK(forced.message().find("TLS") != std::string::npos);
    auto bad = make("maybe", false);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message().find("'stream' must be true or false") != std::string::npos);
}

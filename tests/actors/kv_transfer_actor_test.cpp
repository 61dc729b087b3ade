// Two engines' kv_transfer_actors, each in its own actor system so everything crosses
// CAF's middleman on loopback, over plain host caches: a pull whose producer offers a
// stream gets every block over the direct TCP stream; a producer with the stream off
// serves the same bytes in chunks through the actors; a pull whose hashes stop
// matching loads only the leading blocks; a producer that is gone fails the pull.
#include <doctest/doctest.h>

#include <thread>

#include "actors/kv_transfer_actor.hpp"
#include "actors/runtime_config.hpp"
#include "kv/kv_transfer_endpoint.hpp"
#include "support/fake_kv_cache.hpp"
#include "worker_process.hpp"

using namespace actorlm;

namespace transfer_test {

constexpr int64_t k_pull_layers = 4;
constexpr int32_t k_pull_blocks = 24;
constexpr size_t k_pull_layer_bytes = 8192;

core::block_hash hash_of(int32_t b) { return {0x77u + static_cast<uint64_t>(b), 3}; }

kv::kv_transfer_endpoint::options options_for(bool stream) {
    kv::kv_transfer_endpoint::options o;
    o.block_layer_bytes = k_pull_layer_bytes;
    o.num_layers = k_pull_layers;
    o.chunk_bytes = 3 * k_pull_layers * k_pull_layer_bytes;  // chunks of 3 blocks
    o.max_inflight_chunks = 2;
    o.pull_timeout = std::chrono::milliseconds(3000);
    o.stream = stream;
    o.stream_host = "127.0.0.1";
    return o;
}

/// An engine's transfer side: a cache, its endpoint, its actor in its own system.
struct side {
    test::fake_kv_cache cache{k_pull_layers, k_pull_blocks, k_pull_layer_bytes};
    std::shared_ptr<kv::kv_transfer_endpoint> ep;
    actors::runtime_config cfg{std::chrono::milliseconds(200),
                               actors::k_kv_transfer_connection_timeout};
    caf::actor_system sys{cfg};
    actors::kv_transfer_actor actor;

    explicit side(bool stream) : ep(std::make_shared<kv::kv_transfer_endpoint>(options_for(stream))) {
        REQUIRE(ep->attach(&cache).ok());
        actor = actors::spawn_kv_transfer_actor(sys, ep);
    }
    ~side() { caf::anon_send_exit(actor, caf::exit_reason::user_shutdown); }
};

/// A producer whose every block is filled and offered as "t".
struct producer : side {
    explicit producer(bool stream, uint16_t port) : side(stream) {
        std::vector<int32_t> ids;
        std::vector<core::block_hash> h;
        for (int32_t b = 0; b < k_pull_blocks; ++b) {
            cache.fill(b, static_cast<uint8_t>(b + 11));
            ids.push_back(b);
            h.push_back(hash_of(b));
        }
        REQUIRE(ep->offer("t", ids, h));
        REQUIRE(sys.middleman().publish(actor, port, "127.0.0.1", true));
    }
};

/// Pulls blocks [0, n) of "t" from the producer at `port` into blocks n-1..0 (reversed,
/// so a block landing in the wrong place shows); the pull's result.
kv::kv_block_store::load_result pull(side& consumer, uint16_t port, int32_t n,
                                     int32_t mismatch_from = -1) {
    kv::kv_transfer_endpoint::pull p;
    p.req_id = "r";
    p.host = "127.0.0.1";
    p.port = port;
    p.remote_id = "t";
    for (int32_t b = 0; b < n; ++b) {
        core::block_hash h = hash_of(b);
        if (mismatch_from >= 0 && b >= mismatch_from) h.high ^= 1;
        p.hashes.push_back(h);
        p.block_ids.push_back(n - 1 - b);
    }
    consumer.ep->queue_pull(std::move(p));
    for (int i = 0; i < 2000; ++i) {
        auto done = consumer.ep->take_finished_pulls();
        if (!done.empty()) return done.front();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL("the pull never finished");
    return {};
}

/// Whether the consumer's block n-1-b holds the producer's block b, for b < loaded.
bool landed(const side& consumer, const side& producer, int32_t n, int32_t loaded) {
    for (int32_t b = 0; b < loaded; ++b)
        if (consumer.cache.block(n - 1 - b) != producer.cache.block(b)) return false;
    return true;
}

}  // namespace transfer_test

using namespace transfer_test;

TEST_CASE("kv_transfer_actor: a pull streams every block cache to cache") {
    producer prod(true, test::test_port(0));
    side cons(true);
    const auto r = pull(cons, test::test_port(0), k_pull_blocks);
    CHECK(r.invalid_block_ids.empty());
    CHECK(landed(cons, prod, k_pull_blocks, k_pull_blocks));
    CHECK(cons.ep->stats().blocks_loaded == k_pull_blocks);
    for (int i = 0; i < 200 && prod.ep->stats().blocks_streamed < k_pull_blocks; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(prod.ep->stats().blocks_streamed == k_pull_blocks);
}

TEST_CASE("kv_transfer_actor: a producer without a stream serves the same bytes in chunks") {
    for (bool consumer_streams : {true, false}) {
        CAPTURE(consumer_streams);
        const uint16_t port = test::test_port(consumer_streams ? 1 : 2);
        producer prod(false, port);
        side cons(consumer_streams);
        const auto r = pull(cons, port, k_pull_blocks);
        CHECK(r.invalid_block_ids.empty());
        CHECK(landed(cons, prod, k_pull_blocks, k_pull_blocks));
        CHECK(prod.ep->stats().blocks_saved == k_pull_blocks);
        CHECK(prod.ep->stats().blocks_streamed == 0);
    }
}

TEST_CASE("kv_transfer_actor: only the leading matching blocks load, over either path") {
    for (bool stream : {true, false}) {
        CAPTURE(stream);
        const uint16_t port = test::test_port(stream ? 3 : 4);
        producer prod(stream, port);
        side cons(stream);
        const auto r = pull(cons, port, 10, 7);  // blocks 7.. are another prompt's
        CHECK(r.invalid_block_ids == std::vector<int32_t>{2, 1, 0});
        CHECK(landed(cons, prod, 10, 7));
        CHECK(cons.ep->stats().load_errors == 3);
    }
}

TEST_CASE("kv_transfer_actor: a producer that is gone fails the pull, nothing waits") {
    side cons(true);
    const auto r = pull(cons, test::test_port(5), 4);  // nobody listens there
    CHECK(r.invalid_block_ids.size() == 4);
    CHECK(cons.ep->stats().blocks_loaded == 0);
}

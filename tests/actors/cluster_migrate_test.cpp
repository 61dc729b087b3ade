// Live migration (docs/cluster.md): a router moves a running request from one member to
// another mid-stream; the caller's stream goes on with the tokens and text of an
// unmigrated run (greedy and seeded), the KV blocks were pulled rather than recomputed
// (most of them while the request still ran: the pre-copy), and the first member frees
// them. Members run in their own actor systems, so every
// message and block crosses the middleman on loopback.
#include <doctest/doctest.h>

#include "actors/engine_runtime.hpp"
#include "engine_fixture.hpp"
#include "worker_process.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace migrate_test {

std::unique_ptr<actors::engine_runtime> start_peer_member(int slot, int32_t max_num_seqs = 16) {
    engine_config cfg = stories_config();
    cfg.max_num_seqs = max_num_seqs;
    cfg.num_threads = 1;
    cfg.block_size = 16;
    cfg.cluster_listen = "127.0.0.1:" + std::to_string(test_port(slot));
    cfg.kv_transfer_config = R"({"kv_connector":"PeerConnector","kv_role":"kv_both"})";
    std::string err;
    auto rt = actors::engine_runtime::create(cfg, &err);
    REQUIRE_MESSAGE(rt, err);
    return rt;
}

std::string address_of(int slot) { return "127.0.0.1:" + std::to_string(test_port(slot)); }

struct run_result {
    std::vector<int32_t> tokens;
    std::string text;
    finish_reason finish = finish_reason::none;
    int32_t num_output_tokens = 0;
};

/// Reads `s` to its end; after `migrate_after` tokens, calls `migrate` once.
run_result read(request_stream& s, size_t migrate_after = 0,
                const std::function<void()>& migrate = {}) {
    run_result out;
    bool moved = false;
    output_delta d;
    while (s.next(d)) {
        out.tokens.insert(out.tokens.end(), d.token_ids.begin(), d.token_ids.end());
        out.text += d.text;
        out.num_output_tokens = d.num_output_tokens;
        if (d.finished()) out.finish = d.finish;
        if (migrate && !moved && out.tokens.size() >= migrate_after) {
            migrate();
            moved = true;
        }
    }
    return out;
}

}  // namespace migrate_test

using namespace migrate_test;

TEST_CASE("cluster: a request migrated mid-stream continues as if it had never moved") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto a = start_peer_member(0);
    auto b = start_peer_member(1);
    engine_config rc;
    rc.model_path = shared_path("models/stories260K.gguf");
    rc.block_size = 16;
    rc.cluster_members = {address_of(0), address_of(1)};
    auto router = start_engine(rc);
    REQUIRE(eventually([&] {
        const auto ms = router->cluster_members();
        return ms.size() == 2 && ms[0].healthy && ms[1].healthy;
    }));
    engine_config plain = stories_config();
    plain.block_size = 16;
    auto local = start_engine(plain);

    generate_request r;
    r.prompt = "Once upon a time, there was a little girl named Lily. She liked to play";
    r.params.max_tokens = 460;
    r.params.ignore_eos = true;
    SUBCASE("greedy") { r.params.temperature = 0.0f; }
    SUBCASE("seeded, with penalties") {
        r.params.temperature = 0.8f;
        r.params.seed = 2024;
        r.params.frequency_penalty = 0.4f;
    }
    auto ref_stream = local->generate(r);
    const run_result want = read(ref_stream);
    REQUIRE(want.tokens.size() == 460);

    r.request_id = "moving";
    auto s = router->generate(r);  // round_robin: the first request goes to a
    int32_t moved = -1;
    std::string err;
    const run_result got = read(s, 40, [&] {
        moved = router->migrate_requests(address_of(0), address_of(1), "moving", &err);
    });
    CHECK_MESSAGE(moved == 1, err);
    CHECK(got.finish == finish_reason::length);
    CHECK(got.tokens == want.tokens);
    CHECK(got.text == want.text);
    CHECK(got.num_output_tokens == 460);
    // b continued from a's KV (pulled, not recomputed) and a freed it. The pre-copy
    // round pulled the whole blocks of the ~57 tokens known at the move while the
    // request ran on a; the continuation found them in b's prefix cache.
    CHECK(b->stats().kv_connector_blocks_loaded_total > 0);
    CHECK(b->stats().kv_connector_load_errors_total == 0);
    CHECK(b->stats().prefix_cache_hits_total >= 48);
    CHECK(b->stats().generation_tokens_total < 460);
    CHECK(eventually([&] { return a->stats().kv_cache_usage == 0.0; }));
}

TEST_CASE("cluster: migrations that cannot happen name the problem") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto a = start_peer_member(2);
    auto b = start_peer_member(3);
    engine_config rc;
    rc.model_path = shared_path("models/stories260K.gguf");
    rc.cluster_members = {address_of(2), address_of(3)};
    auto router = start_engine(rc);
    REQUIRE(eventually([&] {
        const auto ms = router->cluster_members();
        return ms.size() == 2 && ms[0].healthy && ms[1].healthy;
    }));
    std::string err;
    CHECK(router->migrate_requests(address_of(2), "127.0.0.1:1", "", &err) == -1);
    CHECK(err.find("127.0.0.1:1") != std::string::npos);
    CHECK(router->migrate_requests(address_of(2), address_of(2), "", &err) == -1);
    CHECK(err.find("own member") != std::string::npos);
    CHECK(router->migrate_requests(address_of(2), address_of(3), "nobody", &err) == -1);
    CHECK(err.find("nobody") != std::string::npos);
    CHECK(router->migrate_requests(address_of(2), address_of(3), "", &err) == 0);  // idle
    engine_config plain = stories_config();
    auto direct = start_engine(plain);
    CHECK(direct->migrate_requests(address_of(2), address_of(3), "", &err) == -1);
    CHECK(err.find("not a router") != std::string::npos);
}

TEST_CASE("cluster: a router rebalances by migration when a new member joins a busy one") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto a = start_peer_member(4, 2);  // two at a time: the rest wait, so it stays busy
    engine_config rc;
    rc.model_path = shared_path("models/stories260K.gguf");
    rc.block_size = 16;
    rc.cluster_members = {address_of(4)};
    rc.rebalance_threshold = 1;
    auto router = start_engine(rc);
    REQUIRE(eventually([&] { return router->cluster_members()[0].healthy; }));
    engine_config plain = stories_config();
    plain.block_size = 16;
    auto local = start_engine(plain);

    std::vector<generate_request> reqs;
    std::vector<request_stream> streams;
    for (int i = 0; i < 8; ++i) {
        generate_request r;
        r.prompt = "Once upon a time, there was a little " + std::string(i % 2 ? "boy" : "girl") +
                   " who liked number " + std::to_string(i);
        r.params.temperature = 0.0f;
        r.params.max_tokens = 480;
        r.params.ignore_eos = true;
        reqs.push_back(r);
        streams.push_back(router->generate(r));  // all on a: the only member
    }
    auto b = start_peer_member(5);
    std::string err;
    REQUIRE_MESSAGE(router->add_cluster_member(address_of(5), "replica", &err), err);
    for (size_t i = 0; i < reqs.size(); ++i) {
        CAPTURE(i);
        const run_result got = read(streams[i]);
        auto ref = local->generate(reqs[i]);
        const run_result want = read(ref);
        CHECK(got.finish == finish_reason::length);
        CHECK(got.tokens == want.tokens);
        CHECK(got.text == want.text);
    }
    // Requests moved to the newcomer, running ones with their KV.
    CHECK(b->stats().generation_tokens_total > 0);
    CHECK(b->stats().kv_connector_load_errors_total == 0);
    CHECK(eventually([&] { return a->stats().kv_cache_usage == 0.0; }));
}

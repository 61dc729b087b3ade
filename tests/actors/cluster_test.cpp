// The actor cluster (docs/cluster.md): engines published with cluster_listen and a
// router (engine_config::cluster_members) over them, each with its own actor system
// so every request, delta and stats answer crosses CAF's middleman on loopback. The
// router's greedy tokens equal a direct engine's; round_robin spreads requests and
// least_loaded avoids a busy member; aborts and a router that goes away stop the
// member's work; a member killed mid-stream ends its requests with an error while
// the other keeps serving; bad configs name the problem.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <thread>

#include "actors/engine_runtime.hpp"
#include "engine_fixture.hpp"
#include "worker_process.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace {

/// A stories260K engine published as a cluster member on test port `slot`.
std::unique_ptr<actors::engine_runtime> start_member(int slot) {
    engine_config cfg = stories_config();
    cfg.num_threads = 1;
    cfg.cluster_listen = "127.0.0.1:" + std::to_string(test_port(slot));
    std::string err;
    auto rt = actors::engine_runtime::create(cfg, &err);
    REQUIRE_MESSAGE(rt, err);
    REQUIRE(rt->cluster_port() == test_port(slot));
    return rt;
}

std::string address_of(const actors::engine_runtime& rt) {
    return "127.0.0.1:" + std::to_string(rt.cluster_port());
}

engine_config router_config(std::vector<std::string> members, std::string policy) {
    engine_config cfg;
    cfg.model_path = shared_path("models/stories260K.gguf");
    cfg.cluster_members = std::move(members);
    cfg.routing_policy = std::move(policy);
    return cfg;
}

}  // namespace

TEST_CASE("cluster: a round-robin router gives a direct engine's greedy tokens from both members") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto a = start_member(0);
    auto b = start_member(1);
    auto router = start_engine(router_config({address_of(*a), address_of(*b)}, "round_robin"));
    CHECK(router->info().vocab_size == a->info().vocab_size);

    const auto cases = load_stories_golden();
    int64_t want[2] = {0, 0};  // prompt tokens each member should see, in turn
    for (size_t k = 0; k < 2 * cases.size(); ++k) {
        const auto& g = cases[k % cases.size()];
        want[k % 2] += static_cast<int64_t>(g.prompt_ids.size());
        auto s = router->generate(greedy_request(g));
        collected c = collect(s);
        CHECK(c.finish[0] != finish_reason::error);
        CHECK(c.tokens[0] == g.greedy_ids);
    }
    CHECK(eventually([&] {
        return a->stats().prompt_tokens_total == want[0] &&
               b->stats().prompt_tokens_total == want[1];
    }));
    // The router's stats are the members' together.
    CHECK(eventually([&] {
        const engine_stats r = router->stats(), sa = a->stats(), sb = b->stats();
        return r.prompt_tokens_total == want[0] + want[1] &&
               r.generation_tokens_total ==
                   sa.generation_tokens_total + sb.generation_tokens_total &&
               r.prefix_cache_queries_total ==
                   sa.prefix_cache_queries_total + sb.prefix_cache_queries_total;
    }));
    CHECK(router->stats().healthy);
}

TEST_CASE("cluster: least_loaded avoids the busy member, aborts reach the member") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto a = start_member(2);
    auto b = start_member(3);
    // Member a gets twice its max_num_seqs of endless requests: 16 run, 16 wait.
    std::vector<std::string> busy;
    for (int i = 0; i < 32; ++i) busy.push_back(a->submit(endless_request(), [](auto&) {}));
    REQUIRE(eventually([&] { return a->stats().num_requests_waiting > 0; }));

    auto router = start_engine(router_config({address_of(*a), address_of(*b)}, "least_loaded"));
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few load polls
    const auto g = load_stories_golden()[1];
    for (int i = 0; i < 3; ++i) {
        auto s = router->generate(greedy_request(g));
        CHECK(collect(s).tokens[0] == g.greedy_ids);
    }
    CHECK(eventually([&] {
        return b->stats().prompt_tokens_total == 3 * static_cast<int64_t>(g.prompt_ids.size());
    }));

    // Through a router to member a only, a request queues behind a's work: an abort
    // sent right away reaches a's frontend and ends it as aborted.
    auto only_a = start_engine(router_config({address_of(*a)}, "round_robin"));
    auto s = only_a->generate(endless_request());
    s.abort();
    output_delta d;
    CHECK(drain(s, d).finish == finish_reason::abort);
    // A router that goes away: member a drops its queued request.
    const int64_t waiting = a->stats().num_requests_waiting;
    auto orphan = only_a->generate(endless_request());
    CHECK(eventually([&] { return a->stats().num_requests_waiting > waiting; }));
    const int64_t with_orphan = a->stats().num_requests_waiting;
    only_a.reset();
    CHECK(eventually([&] { return a->stats().num_requests_waiting < with_orphan; }));
    // ... and the router's own caller got an error, not a stream that never ends.
    const stream_end orphan_end = drain(orphan, d);
    CHECK(orphan_end.finish == finish_reason::error);
    CHECK_MESSAGE(orphan_end.error.find("router shut down") != std::string::npos, orphan_end.error);
    for (const auto& id : busy) a->abort(id);
}

TEST_CASE("cluster: prefix_aware sends a prompt to the member that cached its prefix") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto a = start_member(6);
    auto b = start_member(7);
    auto router = start_engine(router_config({address_of(*a), address_of(*b)}, "prefix_aware"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // subscribed to both

    // A 64-token shared prefix (4 blocks), cached on member b directly.
    std::vector<int32_t> prefix;
    for (int32_t i = 0; i < 64; ++i) prefix.push_back(10 + (i * 7) % 400);
    auto ask = [&](int32_t suffix) {
        generate_request r;
        r.prompt_token_ids = prefix;
        for (int32_t k = 0; k < 5; ++k) r.prompt_token_ids.push_back(suffix + k);
        r.params.temperature = 0.0f;
        r.params.max_tokens = 4;
        r.params.ignore_eos = true;
        return r;
    };
    b->submit(ask(450), [](auto&) {});
    REQUIRE(eventually([&] {
        return b->stats().num_requests_running == 0 && b->stats().prompt_tokens_total > 0;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // its events reached the router

    // Loads are equal, so least_loaded and round_robin would start with member a.
    const int64_t hits_before = b->stats().prefix_cache_hits_total;
    for (int32_t q = 0; q < 3; ++q) {
        auto s = router->generate(ask(460 + 6 * q));
        CHECK(collect(s).finish[0] == finish_reason::length);
    }
    CHECK(a->stats().prompt_tokens_total == 0);
    CHECK(eventually([&] { return b->stats().prefix_cache_hits_total >= hits_before + 3 * 64; }));
}

TEST_CASE("cluster: a member killed mid-stream ends its requests with an error, the other serves") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string model = shared_path("models/stories260K.gguf");
    auto doomed = worker_process::cluster_member(model, test_port(5));
    REQUIRE(doomed->start());
    auto b = start_member(4);
    auto router = start_engine(router_config({doomed->address(), address_of(*b)}, "round_robin"));

    auto s = router->generate(endless_request());  // round robin: the first member
    output_delta d;
    REQUIRE(s.next(d));
    doomed->kill_now();
    const stream_end end = drain(s, d);
    CHECK(end.finish == finish_reason::error);
    CHECK_MESSAGE(end.error.find("went down") != std::string::npos, end.error);
    // New requests go to the member that is left.
    const auto g = load_stories_golden()[0];
    for (int i = 0; i < 2; ++i) {
        auto again = router->generate(greedy_request(g));
        collected c = collect(again);
        CHECK(c.finish[0] != finish_reason::error);
        CHECK(c.tokens[0] == g.greedy_ids);
    }
    CHECK(router->stats().healthy);
}

TEST_CASE("cluster: a member that leaves and comes back on its address is routed to again") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    // The member that leaves is an `actorlm serve` process: killed, then started again.
    auto a = worker_process::cluster_member(shared_path("models/stories260K.gguf"), test_port(6));
    REQUIRE(a->start());
    auto b = start_member(3);
    auto router = start_engine(router_config({a->address(), address_of(*b)}, "round_robin"));
    const auto g = load_stories_golden()[0];
    auto run = [&] {
        auto s = router->generate(greedy_request(g));
        collected c = collect(s);
        CHECK(c.finish[0] != finish_reason::error);
        CHECK(c.tokens[0] == g.greedy_ids);
    };
    a->kill_now();  // the router sees the connection go
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (int i = 0; i < 3; ++i) run();  // all served by b
    REQUIRE(a->start());                // back on the same address
    // The router's totals are b's plus what the restarted member reports: it has
    // served once they differ.
    CHECK(eventually(
        [&] {
            run();
            return router->stats().prompt_tokens_total > b->stats().prompt_tokens_total;
        },
        std::chrono::milliseconds(10000)));
}

TEST_CASE("cluster: a prefix_aware router started later learns what members cached") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto a = start_member(4);
    auto b = start_member(5);
    std::vector<int32_t> prefix;
    for (int32_t i = 0; i < 64; ++i) prefix.push_back(20 + (i * 11) % 400);
    auto ask = [&](int32_t suffix) {
        generate_request r;
        r.prompt_token_ids = prefix;
        for (int32_t k = 0; k < 5; ++k) r.prompt_token_ids.push_back(suffix + k);
        r.params.temperature = 0.0f;
        r.params.max_tokens = 4;
        r.params.ignore_eos = true;
        return r;
    };
    // Cached on b before any router exists (as after a router restart).
    b->submit(ask(450), [](auto&) {});
    REQUIRE(eventually([&] {
        return b->stats().num_requests_running == 0 && b->stats().prompt_tokens_total > 0;
    }));
    auto router = start_engine(router_config({address_of(*a), address_of(*b)}, "prefix_aware"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // snapshots arrived
    const int64_t hits_before = b->stats().prefix_cache_hits_total;
    auto s = router->generate(ask(470));
    CHECK(collect(s).finish[0] == finish_reason::length);
    // Equal loads would send it to a; the snapshot sends it to the cached prefix.
    CHECK(a->stats().prompt_tokens_total == 0);
    CHECK(eventually([&] { return b->stats().prefix_cache_hits_total >= hits_before + 64; }));
}

TEST_CASE("cluster: members join and leave a running router") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto a = start_member(0);
    auto router = start_engine(router_config({address_of(*a)}, "round_robin"));
    auto b = start_member(1);
    std::string err;
    REQUIRE_MESSAGE(router->add_cluster_member(address_of(*b), "replica", &err), err);
    auto members = router->cluster_members();
    REQUIRE(members.size() == 2);
    CHECK(members[1].address == address_of(*b));
    CHECK(members[1].role == "replica");
    CHECK(members[1].connected);
    // The newcomer gets requests once its first load poll says it is healthy.
    CHECK(eventually([&] { return router->cluster_members()[1].healthy; }));
    const auto g = load_stories_golden()[0];
    for (int i = 0; i < 4; ++i) {
        auto s = router->generate(greedy_request(g));
        CHECK(collect(s).tokens[0] == g.greedy_ids);
    }
    CHECK(b->stats().prompt_tokens_total > 0);

    // Leaving: no new requests go to a, and the cluster's counters keep what it did.
    REQUIRE_MESSAGE(router->remove_cluster_member(address_of(*a), &err), err);
    CHECK(router->cluster_members().size() == 1);
    const int64_t a_before = a->stats().prompt_tokens_total;
    for (int i = 0; i < 3; ++i) {
        auto s = router->generate(greedy_request(g));
        CHECK(collect(s).tokens[0] == g.greedy_ids);
    }
    CHECK(a->stats().prompt_tokens_total == a_before);
    CHECK(eventually([&] {
        return router->stats().prompt_tokens_total ==
               a_before + b->stats().prompt_tokens_total;
    }));
    // And back.
    REQUIRE_MESSAGE(router->add_cluster_member(address_of(*a), "replica", &err), err);
    CHECK(router->cluster_members().size() == 2);

    // Bad changes name the problem and change nothing.
    CHECK_FALSE(router->add_cluster_member(address_of(*b), "replica", &err));
    CHECK(err.find("member already") != std::string::npos);
    CHECK_FALSE(router->add_cluster_member(address_of(*b), "prefill", &err));
    CHECK(err.find("replica") != std::string::npos);
    CHECK_FALSE(router->add_cluster_member("127.0.0.1:1", "replica", &err));
    CHECK(err.find("127.0.0.1:1") != std::string::npos);
    CHECK_FALSE(router->add_cluster_member(address_of(*b), "leader", &err));
    CHECK(err.find("role") != std::string::npos);
    CHECK_FALSE(router->remove_cluster_member("127.0.0.1:2", &err));
    CHECK(err.find("127.0.0.1:2") != std::string::npos);
    CHECK(router->cluster_members().size() == 2);
    // An engine is no router.
    engine_config plain = stories_config();
    auto direct = start_engine(plain);
    CHECK_FALSE(direct->add_cluster_member(address_of(*b), "replica", &err));
    CHECK(err.find("not a router") != std::string::npos);
    CHECK(direct->cluster_members().empty());
}

TEST_CASE("cluster: bad router configs name the problem") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    std::string err;
    CHECK_FALSE(engine::create(
        router_config({"127.0.0.1:" + std::to_string(test_port(7))}, "round_robin"), &err));
    CHECK_MESSAGE(err.find("cannot reach cluster member 127.0.0.1:") != std::string::npos, err);
    auto a = start_member(0);
    err.clear();
    CHECK_FALSE(engine::create(router_config({address_of(*a)}, "fastest"), &err));
    CHECK_MESSAGE(err.find("routing policy 'fastest'") != std::string::npos, err);
    err.clear();
    auto cfg = router_config({address_of(*a)}, "round_robin");
    cfg.workers = {"127.0.0.1:1"};
    CHECK_FALSE(engine::create(cfg, &err));
    CHECK_MESSAGE(err.find("a router runs no engine") != std::string::npos, err);
}

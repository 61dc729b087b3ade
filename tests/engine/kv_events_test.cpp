// KV events of the device prefix cache (vLLM's BlockStored / BlockRemoved /
// AllBlocksCleared with enable_kv_cache_events), without a model: replaying a
// scripted run's events into a set gives exactly the pool's cached hashes after
// every step (allocation, prefix hits, eviction, preemption, abort, reset); a
// duplicate block announces nothing; events are off by default; the scheduler
// merges device and connector events in order under its bound.
#include <doctest/doctest.h>

#include <functional>
#include <set>
#include <utility>

#include <actorlm/engine.hpp>

#include "core/block_pool.hpp"
#include "scheduler_factories.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace kv_events_test {

using hash_key = std::pair<uint64_t, uint64_t>;
using event_kind = kv::kv_event::kind;

hash_key key_of(const block_hash& h) { return {h.low, h.high}; }

std::set<hash_key> cached_set(const block_pool& pool) {
    std::set<hash_key> out;
    for (const auto& h : pool.cached_hashes()) out.insert(key_of(h));
    return out;
}

/// What a prefix-aware router keeps for one engine: the device hashes, rebuilt
/// from the events alone. Strict: a stored hash must be new, a removed one known.
struct replica {
    std::set<hash_key> hashes;
    int64_t num_stored = 0;
    int64_t num_removed = 0;
    int64_t num_cleared = 0;

    void apply(const std::vector<kv::kv_event>& events) {
        for (const auto& e : events) {
            REQUIRE(e.medium == "device");
            switch (e.type) {
            case event_kind::block_stored:
                CHECK(!e.block_hashes.empty());
                for (const auto& h : e.block_hashes) {
                    CHECK_MESSAGE(hashes.insert(key_of(h)).second, "stored twice: ", to_hex(h));
                    ++num_stored;
                }
                break;
            case event_kind::block_removed:
                CHECK(!e.block_hashes.empty());
                for (const auto& h : e.block_hashes) {
                    CHECK_MESSAGE(hashes.erase(key_of(h)) == 1, "removed unknown: ", to_hex(h));
                    ++num_removed;
                }
                break;
            case event_kind::all_blocks_cleared:
                CHECK(e.block_hashes.empty());
                hashes.clear();
                ++num_cleared;
                break;
            }
        }
    }
};

scheduler_config events_config(bool events) {
    scheduler_config c = test::small_config(10, 4, 40);  // 10 blocks of 4 tokens: pressure
    c.enable_kv_cache_events = events;
    return c;
}

/// A scripted run over a 10-block pool: a prompt, the same prompt again (prefix hit)
/// next to one that is aborted mid-run, two long requests that cannot both fit
/// (eviction and preemption), a refused and then a successful reset_prefix_cache,
/// and a request after it. `check` runs after every schedule, update and outside call.
struct run_counts {
    bool aborted_running = false;
    bool reset_refused = false;
    bool reset_done = false;
};

run_counts scripted_run(scheduler& s, const std::function<void()>& check) {
    run_counts rc;
    auto step = [&] {
        auto so = s.schedule();
        REQUIRE(check_kv_invariants(s).ok());
        check();
        s.update_from_output(so, test::fabricate_output(so));
        REQUIRE(check_kv_invariants(s).ok());
        check();
    };
    auto drain = [&] {
        for (int i = 0; i < 300 && s.has_unfinished_requests(); ++i) step();
        REQUIRE(!s.has_unfinished_requests());
    };
    REQUIRE(s.add_request(test::make_spec("a1", test::iota_tokens(10, 100), 6)).ok());
    drain();
    REQUIRE(s.add_request(test::make_spec("a2", test::iota_tokens(10, 100), 6)).ok());
    REQUIRE(s.add_request(test::make_spec("d", test::iota_tokens(8, 700), 30)).ok());
    step();
    step();
    rc.aborted_running = s.find("d") && s.find("d")->status == request_status::running;
    CHECK(s.abort_request("d"));
    check();
    drain();
    REQUIRE(s.add_request(test::make_spec("b", test::iota_tokens(12, 300), 24)).ok());
    REQUIRE(s.add_request(test::make_spec("c", test::iota_tokens(14, 500), 24)).ok());
    drain();
    REQUIRE(s.add_request(test::make_spec("e", test::iota_tokens(10, 100), 4)).ok());
    step();
    rc.reset_refused = !s.reset_prefix_cache();  // e holds blocks
    check();
    drain();
    rc.reset_done = s.reset_prefix_cache();
    check();
    REQUIRE(s.add_request(test::make_spec("f", test::iota_tokens(9, 900), 4)).ok());
    drain();
    return rc;
}

/// A scheduler-side connector that loads `offer` tokens of every request
/// asynchronously and hands out the events the test puts in `pending`.
struct event_connector final : kv::kv_connector_scheduler {
    int32_t offer = 0;
    std::vector<kv::kv_event> pending;
    match get_num_new_matched_tokens(const request&, int32_t) override {
        return {offer, offer > 0};
    }
    void update_state_after_alloc(const request&, std::span<const int32_t>, int32_t) override {}
    std::shared_ptr<const kv::kv_connector_metadata> build_connector_meta(
        const scheduler_output&) override {
        return nullptr;
    }
    finished_request request_finished(const request&, std::span<const int32_t>) override {
        return {};
    }
    std::vector<kv::kv_event> take_events() override { return std::exchange(pending, {}); }
};

}  // namespace kv_events_test

using namespace kv_events_test;

TEST_CASE("kv events: replaying the device events gives the prefix cache's hashes every step") {
    auto s = test::make_scheduler(events_config(true));
    replica rep;
    int64_t checks = 0;
    const run_counts rc = scripted_run(*s, [&] {
        rep.apply(s->take_kv_events());
        REQUIRE(rep.hashes == cached_set(s->kv().pool()));
        ++checks;
    });
    // The run went through every path that changes the cache.
    CHECK(rc.aborted_running);
    CHECK(rc.reset_refused);
    CHECK(rc.reset_done);
    CHECK(s->stats().prefix_cache.hits > 0);
    CHECK(s->stats().num_preemptions > 0);
    CHECK(s->kv().pool().num_evictions() > 0);
    CHECK(rep.num_stored > 0);
    CHECK(rep.num_removed > 0);
    CHECK(rep.num_cleared == 2);  // the new pool, then the successful reset
    CHECK(!rep.hashes.empty());   // f cached its blocks after the reset
    CHECK(checks > 20);
    CHECK(s->kv_events_dropped() == 0);
}

TEST_CASE("kv events: off by default, nothing is recorded") {
    CHECK_FALSE(scheduler_config{}.enable_kv_cache_events);
    CHECK_FALSE(actorlm::engine_config{}.enable_kv_cache_events);
    auto s = test::make_scheduler(events_config(false));
    CHECK_FALSE(s->kv().pool().events_enabled());
    int64_t events = 0;
    scripted_run(*s, [&] { events += static_cast<int64_t>(s->take_kv_events().size()); });
    CHECK(events == 0);
    CHECK(s->kv().pool().num_evictions() > 0);  // the cache did change
}

TEST_CASE("kv events: the block pool batches one call's hashes and skips duplicates") {
    block_pool pool(8, /*enable_caching=*/true, /*enable_kv_cache_events=*/true);
    auto first = pool.take_events();
    REQUIRE(first.size() == 1);
    CHECK(first[0].type == event_kind::all_blocks_cleared);
    CHECK(first[0].medium == "device");

    const block_hash h1{1, 10}, h2{2, 20}, h3{3, 30};
    auto a = pool.get_new_blocks(3);
    const std::vector<block_hash> ha{h1, h2, h3};
    pool.cache_full_blocks(a, ha, 0);
    auto ev = pool.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].type == event_kind::block_stored);
    CHECK(ev[0].block_hashes == ha);  // one event, in table order

    // The same content computed again in other blocks: the cache does not change.
    auto b = pool.get_new_blocks(2);
    const std::vector<block_hash> hb{h1, h2};
    pool.cache_full_blocks(b, hb, 0);
    CHECK(pool.take_events().empty());
    CHECK(pool.num_cached_blocks() == 3);
    // A table mixing a duplicate and a new hash announces only the new one.
    const block_hash h4{4, 40};
    auto c = pool.get_new_blocks(2);
    const std::vector<block_hash> hc{h3, h4};
    pool.cache_full_blocks(c, hc, 0);
    ev = pool.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].block_hashes == std::vector<block_hash>{h4});

    // Freed duplicates go to the front (no content): reusing them evicts nothing.
    pool.free_blocks(b);
    auto reuse = pool.get_new_blocks(2);
    CHECK(pool.take_events().empty());
    pool.free_blocks(reuse);
    // Freeing keeps hashes cached; evicting for reuse removes them in eviction
    // order, in one event per call. Free queue then: the four blocks without content,
    // a's blocks tail first (h3, h2, h1), c's cached one (h4).
    std::vector<int32_t> a_tail_first(a.rbegin(), a.rend());
    pool.free_blocks(a_tail_first);
    pool.free_blocks(std::vector<int32_t>{c[1], c[0]});
    CHECK(pool.take_events().empty());
    CHECK(pool.num_free_blocks() == 8);
    auto taken = pool.get_new_blocks(7);
    ev = pool.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].type == event_kind::block_removed);
    CHECK(ev[0].block_hashes == std::vector<block_hash>{h3, h2, h1});
    pool.free_blocks(taken);

    // A refused reset announces nothing; a done one clears.
    auto held = pool.get_new_blocks(1);
    CHECK_FALSE(pool.reset_prefix_cache());
    CHECK(pool.take_events().empty());
    pool.free_blocks(held);
    CHECK(pool.reset_prefix_cache());
    ev = pool.take_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].type == event_kind::all_blocks_cleared);
    CHECK(pool.cached_hashes().empty());
}

TEST_CASE("kv events: requests computing the same blocks announce them once") {
    // Two greedy twins: the same prompt and the same sampled tokens, so their decode
    // blocks have equal hashes; only the first registered is cached and announced.
    auto s = test::make_scheduler(events_config(true));
    REQUIRE(s->add_request(test::make_spec("t1", test::iota_tokens(6, 100), 12)).ok());
    REQUIRE(s->add_request(test::make_spec("t2", test::iota_tokens(6, 100), 12)).ok());
    replica rep;
    std::vector<block_hash> t1_hashes, t2_hashes;
    for (int i = 0; i < 40 && s->has_unfinished_requests(); ++i) {
        if (s->find("t1")) t1_hashes = s->find("t1")->block_hashes();
        if (s->find("t2")) t2_hashes = s->find("t2")->block_hashes();
        test::step(*s);
        rep.apply(s->take_kv_events());
        REQUIRE(rep.hashes == cached_set(s->kv().pool()));
    }
    REQUIRE(t1_hashes.size() >= 3);
    CHECK(t1_hashes == t2_hashes);  // the decode blocks were duplicates
    CHECK(rep.num_stored == static_cast<int64_t>(t1_hashes.size()));
}

TEST_CASE("kv events: device and connector events merge in step order under the bound") {
    auto s = test::make_scheduler(events_config(true));
    auto owned = std::make_shared<event_connector>();
    event_connector* conn = owned.get();
    s->set_kv_connector(owned);
    const block_hash disk_hash{77, 77};
    const kv::kv_event disk_event{event_kind::block_stored, {disk_hash}, "disk"};

    // R: 8 of its 11 prompt tokens load asynchronously; nothing is cached until then.
    conn->offer = 8;
    REQUIRE(s->add_request(test::make_spec("R", test::iota_tokens(11, 100), 2)).ok());
    auto so = s->schedule();
    auto ev = s->take_kv_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].type == event_kind::all_blocks_cleared);
    conn->offer = 0;

    // The load completes: its two blocks enter the cache in update_from_output,
    // before the connector's own events of that step.
    conn->pending = {disk_event};
    auto out = test::fabricate_output(so);
    out.kv_connector_output.finished_recving = {"R"};
    s->update_from_output(so, out);
    ev = s->take_kv_events();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].medium == "device");
    CHECK(ev[0].type == event_kind::block_stored);
    const auto& r_hashes = s->find("R")->block_hashes();
    CHECK(ev[0].block_hashes == std::vector<block_hash>(r_hashes.begin(), r_hashes.begin() + 2));
    CHECK(ev[1].medium == "disk");

    // A step's device events (schedule) precede the connector's (update).
    REQUIRE(s->add_request(test::make_spec("S", test::iota_tokens(9, 500), 1)).ok());
    so = s->schedule();
    conn->pending = {disk_event};
    s->update_from_output(so, test::fabricate_output(so));
    ev = s->take_kv_events();
    REQUIRE(ev.size() >= 2);
    CHECK(ev.front().medium == "device");
    CHECK(ev.back().medium == "disk");
    for (size_t i = 0; i + 1 < ev.size(); ++i) CHECK(ev[i].medium == "device");

    // The bound covers both: the oldest events are dropped and counted.
    while (s->has_unfinished_requests()) test::step(*s);
    (void)s->take_kv_events();
    const size_t extra = 5;
    bool all_reset = true;
    for (size_t i = 0; i < scheduler::k_max_kv_events + extra; ++i)
        all_reset = s->reset_prefix_cache() && all_reset;
    CHECK(all_reset);
    ev = s->take_kv_events();
    CHECK(ev.size() == scheduler::k_max_kv_events);
    CHECK(s->kv_events_dropped() == static_cast<int64_t>(extra));
}

TEST_CASE("kv events: with events off a connector's events still pass alone") {
    auto s = test::make_scheduler(events_config(false));
    auto conn = std::make_shared<event_connector>();
    s->set_kv_connector(conn);
    REQUIRE(s->add_request(test::make_spec("A", test::iota_tokens(9, 100), 1)).ok());
    auto so = s->schedule();
    conn->pending = {kv::kv_event{event_kind::block_removed, {block_hash{5, 5}}, "disk"}};
    s->update_from_output(so, test::fabricate_output(so));
    auto ev = s->take_kv_events();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].medium == "disk");
}

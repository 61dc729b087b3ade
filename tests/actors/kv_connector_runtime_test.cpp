// The KV connector in the actor runtime (what `actorlm serve --kv-transfer-config`
// runs), over the public engine API with stories260K: evicted prefixes reload from
// the disk tier with greedy tokens and logprobs identical to an engine without a
// connector; a restarted engine finds its disk tier; reset_prefix_cache empties the
// device prefix cache (and is refused while a request holds blocks); a connector
// cannot be combined with remote workers; the KV-cache actor publishes the tier's
// block events to subscribers, and the device prefix cache's with enable_kv_cache_events.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "actors/engine_runtime.hpp"
#include "engine_fixture.hpp"
#include "support/kv_offload_runs.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::test;
namespace fs = std::filesystem;

namespace {

fs::path runtime_test_dir(const std::string& name) { return test::fresh_temp_dir("kvrt-" + name); }

/// The shared stories260K engine config (F32 KV, `num_blocks` blocks of pool), with a
/// disk tier in `disk` unless empty.
engine_config config(int32_t num_blocks, const fs::path& disk = {}) {
    return offload_engine_config("f32", num_blocks, disk.empty() ? "" : offload_disk_config(disk));
}

/// Runs each prompt alone, greedy, 12 tokens with logprobs.
std::vector<test::offload_run> run_prompts(engine& eng,
                                           const std::vector<std::vector<int32_t>>& prompts) {
    std::vector<test::offload_run> out;
    for (const auto& p : prompts) {
        generate_request r;
        r.prompt_token_ids = p;
        r.params.temperature = 0.0f;
        r.params.max_tokens = 12;
        r.params.ignore_eos = true;
        r.params.logprobs = 3;
        auto stream = eng.generate(r);
        test::offload_run o;
        output_delta d;
        while (stream.next(d)) {
            REQUIRE_MESSAGE(d.error.empty(), d.error);
            o.tokens.insert(o.tokens.end(), d.token_ids.begin(), d.token_ids.end());
            for (const auto& lp : d.logprobs) {
                o.logprobs.push_back(lp.logprob);
                for (const auto& t : lp.top) o.logprobs.push_back(t.logprob);
            }
        }
        REQUIRE(o.tokens.size() == 12);
        out.push_back(std::move(o));
    }
    return out;
}

/// Stats once the tier's I/O thread has written the saves queued so far (unchanged
/// over 200 ms, at most 10 s): saves complete asynchronously.
engine_stats settled_stats(const engine& eng) {
    auto last = eng.stats();
    for (int i = 0; i < 50; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto now = eng.stats();
        if (now.kv_connector_blocks_saved_total == last.kv_connector_blocks_saved_total) return now;
        last = now;
    }
    return last;
}

/// Runs `prompt` greedily for 4 tokens through the runtime and waits for its end.
void run_greedy(actors::engine_runtime& rt, const std::vector<int32_t>& prompt) {
    std::promise<void> done;
    generate_request r;
    r.prompt_token_ids = prompt;
    r.params.temperature = 0.0f;
    r.params.max_tokens = 4;
    r.params.ignore_eos = true;
    rt.submit(r, [&](const output_delta& d) {
        if (d.finished()) done.set_value();
    });
    done.get_future().wait();
}

}  // namespace

TEST_CASE("runtime kv connector: evicted prefixes reload from disk, outputs identical") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const auto prompts = test::offload_prompts();
    auto base_eng = start_engine(config(128));
    const auto base = run_prompts(*base_eng, prompts);
    base_eng.reset();

    // 12 blocks hold one prompt: every document is evicted before its second question.
    const fs::path dir = runtime_test_dir("evict");
    auto eng = start_engine(config(12, dir));
    // Saves land asynchronously: let the first questions' blocks reach the disk
    // before the second ones look for them (a loaded machine can delay the I/O thread).
    auto got = run_prompts(*eng, {prompts.begin(), prompts.begin() + 4});
    for (int i = 0; i < 1000 && eng->stats().kv_connector_blocks_saved_total < 4 * 6; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto rest = run_prompts(*eng, {prompts.begin() + 4, prompts.end()});
    got.insert(got.end(), rest.begin(), rest.end());
    test::check_same_runs(base, got);
    const auto st = settled_stats(*eng);
    MESSAGE("external hits " << st.external_prefix_cache_hits_total << " tokens, loaded "
                             << st.kv_connector_blocks_loaded_total << " blocks, saved "
                             << st.kv_connector_blocks_saved_total);
    CHECK(st.external_prefix_cache_hits_total >= 4 * 5 * 16);
    CHECK(st.kv_connector_blocks_loaded_total >= 4 * 5);
    CHECK(st.kv_connector_bytes_loaded_total == st.kv_connector_blocks_loaded_total * 20480);
    CHECK(st.kv_connector_blocks_stored >= 4 * 6);
    CHECK(st.kv_connector_load_errors_total == 0);
    CHECK(st.num_requests_waiting_for_remote_kvs == 0);
    eng.reset();

    // A restarted engine over the same directory loads the documents' prefixes from
    // disk for their first request.
    auto again = start_engine(config(12, dir));
    const std::vector<std::vector<int32_t>> second(prompts.begin() + 4, prompts.end());
    const std::vector<test::offload_run> base_second(base.begin() + 4, base.end());
    test::check_same_runs(base_second, run_prompts(*again, second));
    CHECK(again->stats().external_prefix_cache_hits_total >= 4 * 5 * 16);
    again.reset();
    fs::remove_all(dir);
}

TEST_CASE("runtime: reset_prefix_cache empties the device prefix cache, refused while busy") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const auto prompts = test::offload_prompts();
    auto eng = start_engine(config(128));
    const std::vector<std::vector<int32_t>> one(prompts.begin(), prompts.begin() + 1);
    const auto first = run_prompts(*eng, one);
    run_prompts(*eng, one);
    const int64_t hits = eng->stats().prefix_cache_hits_total;
    CHECK(hits >= 96);  // the repeat hit the device cache

    std::string error;
    REQUIRE_MESSAGE(eng->reset_prefix_cache(&error), error);
    test::check_same_runs(first, run_prompts(*eng, one));
    CHECK(eng->stats().prefix_cache_hits_total == hits);  // nothing was cached any more

    auto busy = eng->generate(endless_request());
    output_delta d;
    REQUIRE(busy.next(d));  // running: it holds blocks
    error.clear();
    CHECK_FALSE(eng->reset_prefix_cache(&error));
    CHECK(error.find("hold KV blocks") != std::string::npos);
    busy.abort();
    while (busy.next(d)) {
    }
}

TEST_CASE("runtime kv connector: refused with remote workers, naming the conflict") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    engine_config cfg = config(12, runtime_test_dir("remote"));
    cfg.workers = {"127.0.0.1:1"};
    std::string err;
    CHECK(engine::create(cfg, &err) == nullptr);
    CHECK(err.find("kv_transfer_config") != std::string::npos);
    CHECK(err.find("--worker") != std::string::npos);
}

TEST_CASE("runtime kv connector: the KV-cache actor publishes the tier's block events") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const fs::path dir = runtime_test_dir("events");
    std::string err;
    auto rt = actors::engine_runtime::create(config(64, dir), &err);
    REQUIRE_MESSAGE(rt, err);
    // Declared after the runtime so it is gone before the runtime's actor system ends.
    auto sub_owner = std::make_unique<caf::scoped_actor>(rt->system());
    caf::scoped_actor& sub = *sub_owner;
    caf::anon_send(rt->kv_cache(), actors::subscribe_atom_v,
                   caf::actor_cast<actors::kv_event_subscriber>(sub));

    run_greedy(*rt, test::offload_prompts().front());

    // 104 prompt tokens: 6 full blocks saved, each announced once as stored on disk.
    std::set<std::pair<uint64_t, uint64_t>> stored;
    for (int i = 0; i < 100 && stored.size() < 6; ++i) {
        sub->receive(
            [&](actors::kv_events_atom, std::vector<kv::kv_event>& events) {
                for (const auto& e : events) {
                    CHECK(e.type == kv::kv_event::kind::block_stored);
                    CHECK(e.medium == "disk");
                    for (const auto& h : e.block_hashes) stored.insert({h.low, h.high});
                }
            },
            caf::after(std::chrono::milliseconds(100)) >> [] {});
        if (stored.size() < 6) {  // events leave with the next report: poke one
            std::promise<void> again;
            generate_request p;
            p.prompt_token_ids = {1, 2, 3};
            p.params.max_tokens = 1;
            rt->submit(p, [&](const output_delta& d) {
                if (d.finished()) again.set_value();
            });
            again.get_future().wait();
        }
    }
    CHECK(stored.size() >= 6);
    sub_owner.reset();
    rt.reset();
    fs::remove_all(dir);
}

TEST_CASE("runtime kv events: a subscriber receives the device prefix cache's events") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    engine_config cfg = config(64);  // no connector: only the device pool's events
    cfg.enable_kv_cache_events = true;
    std::string err;
    auto rt = actors::engine_runtime::create(cfg, &err);
    REQUIRE_MESSAGE(rt, err);
    // Declared after the runtime so it is gone before the runtime's actor system ends.
    auto sub_owner = std::make_unique<caf::scoped_actor>(rt->system());
    caf::scoped_actor& sub = *sub_owner;
    caf::anon_send(rt->kv_cache(), actors::subscribe_atom_v,
                   caf::actor_cast<actors::kv_event_subscriber>(sub));

    auto run = [&](const std::vector<int32_t>& prompt) { run_greedy(*rt, prompt); };
    // A router's view of the device pool, rebuilt from the events alone.
    std::set<std::pair<uint64_t, uint64_t>> held;
    int64_t num_stored = 0, num_cleared = 0;
    // Reads events until `enough` (or `max_waits` quiet 100 ms periods).
    auto receive_until = [&](const std::function<bool()>& enough, int max_waits = 50) {
        for (int i = 0; i < max_waits && !enough(); ++i)
            sub->receive(
                [&](actors::kv_events_atom, std::vector<kv::kv_event>& events) {
                    for (const auto& e : events) {
                        CHECK(e.medium == "device");
                        if (e.type == kv::kv_event::kind::all_blocks_cleared) {
                            held.clear();
                            ++num_cleared;
                        }
                        for (const auto& h : e.block_hashes) {
                            if (e.type == kv::kv_event::kind::block_stored) {
                                CHECK(held.insert({h.low, h.high}).second);
                                ++num_stored;
                            } else {
                                CHECK(held.erase({h.low, h.high}) == 1);
                            }
                        }
                    }
                },
                caf::after(std::chrono::milliseconds(100)) >> [] {});
    };

    // 104 prompt + 3 computed output tokens: 6 full 16-token blocks enter the cache.
    const auto prompt = test::offload_prompts().front();
    run(prompt);
    receive_until([&] { return held.size() >= 6; });
    CHECK(held.size() == 6);
    CHECK(num_stored == 6);
    // The same prompt again is a prefix hit: the cache gains nothing new for it.
    run(prompt);
    receive_until([] { return false; }, 5);  // whatever the second run announced
    CHECK(num_stored == 6);
    CHECK(held.size() == 6);
    // Emptying the cache is announced: the subscriber's view is empty too.
    const int64_t cleared_before = num_cleared;
    REQUIRE_MESSAGE(rt->reset_prefix_cache(&err), err);
    receive_until([&] { return num_cleared > cleared_before; });
    CHECK(num_cleared == cleared_before + 1);
    CHECK(held.empty());
    sub_owner.reset();
    rt.reset();
}

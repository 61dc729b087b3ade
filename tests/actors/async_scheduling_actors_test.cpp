// Async scheduling in the actor runtime (engine_config::async_scheduling): the scheduler
// actor keeps two steps in flight, and every stream equals the synchronous engine's:
// greedy golden ids, seeded samples with n > 1, stop strings (found by the detokenizer,
// a step late), aborts, and a pool small enough to preempt; the step counters reach
// engine::stats(). Its limits are refused by name.
#include <doctest/doctest.h>

#include <map>

#include "engine_fixture.hpp"
#include "worker_process.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace async_scheduling_actors_test {

/// Every request of the mix, by name, with its n.
std::map<std::string, std::pair<generate_request, int32_t>> request_mix() {
    std::map<std::string, std::pair<generate_request, int32_t>> mix;
    const auto cases = load_stories_golden();
    for (size_t i = 0; i < cases.size(); ++i)
        mix["greedy" + std::to_string(i)] = {greedy_request(cases[i]), 1};
    generate_request seeded;
    seeded.prompt = "Once upon a time";
    seeded.params.temperature = 0.9f;
    seeded.params.seed = 42;
    seeded.params.n = 3;
    seeded.params.max_tokens = 40;
    mix["seeded_n3"] = {seeded, 3};
    generate_request stopped;
    stopped.prompt = "Once upon a time";
    stopped.params.temperature = 0.0f;
    stopped.params.max_tokens = 60;
    stopped.params.stop = {" the"};
    mix["stop_string"] = {stopped, 1};
    generate_request long_one = endless_request();
    long_one.params.temperature = 0.0f;
    long_one.params.max_tokens = 200;
    mix["long"] = {long_one, 1};
    return mix;
}

std::map<std::string, collected> run_mix(engine& eng) {
    auto mix = request_mix();
    std::map<std::string, request_stream> streams;
    for (auto& [name, r] : mix) streams.emplace(name, eng.generate(r.first));
    std::map<std::string, collected> got;
    for (auto& [name, s] : streams) got[name] = collect(s, mix.at(name).second);
    return got;
}

void check_same(const std::map<std::string, collected>& sync,
                const std::map<std::string, collected>& async) {
    for (const auto& [name, c] : sync) {
        CAPTURE(name);
        const collected& a = async.at(name);
        CHECK(a.tokens == c.tokens);
        CHECK(a.texts == c.texts);
        CHECK(a.finish == c.finish);
        for (const auto& e : a.errors) CHECK(e.empty());
    }
}

}  // namespace async_scheduling_actors_test

using namespace async_scheduling_actors_test;

TEST_CASE("actors: async scheduling streams what the synchronous engine streams") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    engine_config cfg = stories_config();
    cfg.seed = 5;
    // A pool of about 20 blocks of 16 tokens for requests of up to 200 + prompt tokens:
    // the long request and the n = 3 siblings preempt one another.
    cfg.kv_cache_memory_bytes = 400 << 10;
    cfg.max_model_len = 256;
    std::map<std::string, collected> sync, async;
    int64_t sync_preemptions = 0;
    double sync_wait_seconds = 0.0;
    {
        auto eng = start_engine(cfg);
        sync = run_mix(*eng);
        sync_preemptions = eng->stats().num_preemptions_total;
        sync_wait_seconds = eng->stats().worker_wait_seconds_total;
    }
    cfg.async_scheduling = true;
    auto eng = start_engine(cfg);
    async = run_mix(*eng);
    check_same(sync, async);
    const auto cases = load_stories_golden();
    for (size_t i = 0; i < cases.size(); ++i)
        CHECK(async.at("greedy" + std::to_string(i)).tokens[0] == cases[i].greedy_ids);
    CHECK(async.at("stop_string").finish[0] == finish_reason::stop);
    const engine_stats st = eng->stats();
    CHECK(st.engine_steps_total > 0);
    CHECK(st.worker_busy_seconds_total > 0.0);
    // In lockstep the worker waits before every step that follows one with work left.
    CHECK(sync_wait_seconds > 0.0);
    CHECK(sync_preemptions > 0);  // the small pool did what it is here for
    CHECK(st.num_preemptions_total > 0);
}

TEST_CASE("actors: async scheduling aborts a request with a step in flight, then goes on") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    engine_config cfg = stories_config();
    cfg.async_scheduling = true;
    auto eng = start_engine(cfg);
    generate_request endless = endless_request();
    endless.request_id = "endless";
    auto s = eng->generate(endless);
    output_delta d;
    int32_t tokens = 0;
    while (tokens < 10 && s.next(d)) tokens += static_cast<int32_t>(d.token_ids.size());
    eng->abort("endless");
    CHECK(drain(s, d).finish == finish_reason::abort);
    const auto cases = load_stories_golden();
    auto after = eng->generate(greedy_request(cases.front()));
    CHECK(collect(after).tokens[0] == cases.front().greedy_ids);
}

TEST_CASE("actors: async scheduling refuses what it cannot do yet, by name") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    engine_config cfg = stories_config();
    cfg.async_scheduling = true;
    cfg.speculative_config = R"({"method":"ngram","num_speculative_tokens":2})";
    std::string err;
    CHECK(engine::create(cfg, &err) == nullptr);
    CHECK(err.find("speculative_config") != std::string::npos);
    cfg.speculative_config.clear();
    cfg.kv_transfer_config = R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
                             R"("kv_connector_extra_config":{"cpu_bytes_to_use":"1MiB"}})";
    CHECK(engine::create(cfg, &err) == nullptr);
    CHECK(err.find("kv_transfer_config") != std::string::npos);
    cfg.kv_transfer_config.clear();
    cfg.workers = {"127.0.0.1:1", "127.0.0.1:2"};
    CHECK(engine::create(cfg, &err) == nullptr);
    CHECK(err.find("one pipeline stage") != std::string::npos);
}

TEST_CASE("actors: async scheduling with a worker in another process gives the golden ids") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    worker_process w(shared_path("models/stories260K.gguf"), test_port(0));
    REQUIRE(w.start());
    engine_config cfg = stories_config();
    cfg.workers = {w.address()};
    cfg.async_scheduling = true;
    auto eng = start_engine(cfg);
    const auto cases = load_stories_golden();
    std::vector<request_stream> streams;
    for (const auto& g : cases) streams.push_back(eng->generate(greedy_request(g)));
    for (size_t i = 0; i < cases.size(); ++i)
        CHECK(collect(streams[i]).tokens[0] == cases[i].greedy_ids);
}

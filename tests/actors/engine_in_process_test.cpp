// The whole actor runtime in one process (frontend, detokenizer, scheduler,
// KV-cache and encoder-cache actors, one worker) over the real stories260K
// model, driven through the public API only.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "engine_fixture.hpp"

using namespace actorlm;
using namespace actorlm::test;

TEST_CASE("actors: greedy generation through the actor runtime equals the golden ids") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = start_engine(stories_config());
    // All cases at once: they batch together in the scheduler.
    auto cases = load_stories_golden();
    std::vector<request_stream> streams;
    for (const auto& g : cases) streams.push_back(eng->generate(greedy_request(g)));
    for (size_t i = 0; i < cases.size(); ++i) {
        collected c = collect(streams[i]);
        CHECK(c.tokens[0] == cases[i].greedy_ids);
        CHECK(c.finish[0] != finish_reason::error);
    }
    // Stats come from the scheduler's last report to the KV-cache actor, which travels
    // beside the final deltas, not before them: on a loaded machine it may land a moment
    // after the streams end.
    engine_stats s = eng->stats();
    for (int i = 0; i < 100 && (s.num_requests_running != 0 || s.kv_cache_usage != 0.0); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        s = eng->stats();
    }
    CHECK(s.healthy);
    CHECK(s.num_requests_running == 0);
    CHECK(s.kv_cache_usage == doctest::Approx(0.0));
    CHECK(s.generation_tokens_total > 0);
}

TEST_CASE("actors: text prompts stream deltas whose concatenation is the whole text") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = start_engine(stories_config());
    generate_request r;
    r.prompt = "Once upon a time";
    r.params.temperature = 0.0f;
    r.params.max_tokens = 40;
    auto s = eng->generate(r);
    collected c = collect(s);
    CHECK(c.num_deltas > 1);
    CHECK(c.tokens[0].size() <= 40);
    CHECK(!c.texts[0].empty());
    std::string full, err;
    CHECK(eng->detokenize(c.tokens[0], &full, &err));
    CHECK(full.rfind(c.texts[0], 0) == 0);  // the streamed text is the decode (an EOS may follow)
}

TEST_CASE("actors: an abort ends the request and frees its KV blocks") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = start_engine(stories_config());
    generate_request r = endless_request();
    auto s = eng->generate(r);
    output_delta d;
    REQUIRE(s.next(d));  // it is running
    s.abort();
    finish_reason last = d.finish;
    while (s.next(d)) last = d.finish;
    CHECK(last == finish_reason::abort);
    engine_stats st = eng->stats();
    CHECK(st.num_requests_running == 0);
    CHECK(st.num_requests_waiting == 0);
    CHECK(st.kv_cache_usage == doctest::Approx(0.0));
}

TEST_CASE("actors: n=2 sampled sequences both finish and a bad request gets an error") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = start_engine(stories_config());
    generate_request r;
    r.prompt = "The dog";
    r.params.n = 2;
    r.params.temperature = 1.0f;
    r.params.seed = 7;
    r.params.max_tokens = 20;
    auto s = eng->generate(r);
    collected c = collect(s, 2);
    CHECK(c.finish[0] != finish_reason::none);
    CHECK(c.finish[1] != finish_reason::none);
    CHECK(c.tokens[0] != c.tokens[1]);  // different seeds per sequence
    for (int i = 0; i < 2; ++i) {
        // Each sequence reports how long it waited for its first step, once.
        CHECK(c.num_queue_reports[size_t(i)] == 1);
        CHECK(c.queued_seconds[size_t(i)] >= 0.0);
        CHECK(c.queued_seconds[size_t(i)] < 10.0);
        CHECK_FALSE(c.invalid[size_t(i)]);
    }

    const int32_t max_len = eng->info().max_model_len;
    generate_request too_long;
    too_long.prompt_token_ids.assign(size_t(max_len) + 10, 300);
    auto bad = eng->generate(too_long);
    collected e = collect(bad);
    CHECK(e.finish[0] == finish_reason::error);
    CHECK(e.errors[0].find(std::to_string(max_len)) != std::string::npos);
    CHECK(e.invalid[0]);  // the request's fault: a server answers 400, not 500
    CHECK(e.num_queue_reports[0] == 0);

    generate_request out_of_vocab;
    out_of_vocab.prompt_token_ids = {1, 99999};
    auto bad2 = eng->generate(out_of_vocab);
    collected e2 = collect(bad2);
    CHECK(e2.finish[0] == finish_reason::error);
    CHECK(e2.errors[0].find("vocabulary") != std::string::npos);
    CHECK(e2.invalid[0]);
}

TEST_CASE("actors: engine creation errors name the problem") {
    std::string err;
    engine_config cfg;
    cfg.model_path = "/nonexistent/model.gguf";
    CHECK(engine::create(cfg, &err) == nullptr);
    CHECK(err.find("/nonexistent/model.gguf") != std::string::npos);
}

TEST_CASE("actors: a KV pool too small for max_model_len is an error, not a crash") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    engine_config cfg = stories_config();
    cfg.kv_cache_memory_bytes = 12 * 20480;  // 12 blocks of 16 tokens (F32 KV)
    cfg.kv_cache_dtype = "f32";
    cfg.max_model_len = 2048;
    std::string err;
    CHECK(engine::create(cfg, &err) == nullptr);
    CHECK(err.find("max_model_len") != std::string::npos);
}

TEST_CASE("actors: the KV pool is reserved whole but in memory only as blocks are written") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    engine_config cfg = stories_config();
    cfg.kv_cache_memory_bytes = int64_t{64} << 20;
    auto eng = start_engine(cfg);
    engine_stats idle = eng->stats();
    for (int i = 0; i < 100 && idle.kv_cache_reserved_bytes == 0; ++i) {  // reported async
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        idle = eng->stats();
    }
    CHECK(idle.kv_cache_reserved_bytes > (int64_t{1} << 20));
    CHECK(idle.kv_cache_reserved_bytes <= (int64_t{64} << 20));
    CHECK(idle.kv_cache_resident_bytes == 0);  // nothing written, nothing measured yet

    generate_request r;
    r.prompt = "Once upon a time";
    r.params.temperature = 0.0f;
    r.params.max_tokens = 64;
    auto s = eng->generate(r);
    collect(s);
    engine_stats after = eng->stats();
    for (int i = 0; i < 100 && after.kv_cache_resident_bytes == 0; ++i) {  // see above
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        after = eng->stats();
    }
    // A few blocks of each layer's K and V were written: a page of each (2 MiB where
    // the kernel gives huge pages), not the pool.
    CHECK(after.kv_cache_resident_bytes > 0);
    CHECK(after.kv_cache_resident_bytes < after.kv_cache_reserved_bytes);
    CHECK(after.kv_cache_reserved_bytes == idle.kv_cache_reserved_bytes);
}

TEST_CASE("actors: destroying the engine ends its in-flight streams with an error") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = start_engine(stories_config());
    generate_request r = endless_request();
    auto s = eng->generate(r);
    output_delta d;
    REQUIRE(s.next(d));
    eng.reset();  // the stream outlives the engine
    finish_reason last = d.finish;
    while (s.next(d)) last = d.finish;  // must not block forever
    CHECK(last != finish_reason::none);
    s.abort();  // the engine is gone: a no-op
}

// Scheduler scenarios in vLLM's test_scheduler.py style: admission errors, the
// unified token budget with chunked prefill, long-prefill threshold, max_num_seqs,
// stop rules, prefix hits through schedule(), abort at any state.
#include <doctest/doctest.h>

#include <map>

#include "scheduler_factories.hpp"

using namespace actorlm;
using namespace actorlm::core;
using namespace actorlm::test;

TEST_CASE("scheduler: add_request rejects bad input with a message naming the problem") {
    auto s = make_scheduler(small_config(64, 16, 128));
    auto st = s->add_request(make_spec("long", iota_tokens(129)));
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find("129 tokens") != std::string::npos);
    CHECK(st.message().find("maximum model length of 128") != std::string::npos);
    CHECK(s->add_request(make_spec("exact", iota_tokens(128))).ok());
    auto dup = s->add_request(make_spec("exact", iota_tokens(4)));
    REQUIRE_FALSE(dup.ok());
    CHECK(dup.message().find("already in use") != std::string::npos);
    CHECK(s->add_request(make_spec("empty", {})).message().find("empty") != std::string::npos);
    auto bad = make_spec("bad", iota_tokens(4));
    bad.params.top_p = 0.0f;
    CHECK(s->add_request(bad).message().find("top_p") != std::string::npos);
    bad.params.top_p = 1.0f;
    bad.params.logprobs = 21;
    CHECK(s->add_request(bad).message().find("logprobs") != std::string::npos);
    CHECK(s->num_waiting() == 1);

    auto cfg = small_config(64, 16, 128);
    cfg.vocab_size = 100;
    auto v = make_scheduler(cfg);
    CHECK(v->add_request(make_spec("oov", {5, 100})).message().find("token id 100") !=
          std::string::npos);

    auto tiny = small_config(4, 16, 128);  // 64 tokens of KV for a 128-token context
    auto created = scheduler::create(tiny);
    REQUIRE_FALSE(created.ok());
    CHECK(created.message().find("cannot hold one sequence") != std::string::npos);
}

TEST_CASE("scheduler: prefill then decode until max_tokens, then blocks are freed") {
    auto s = make_scheduler(small_config(64));
    for (int i = 0; i < 3; ++i)
        REQUIRE(
            s->add_request(make_spec(std::to_string(100 + i), iota_tokens(20, 100 * i), 3)).ok());
    scheduler_output so;
    auto outs = step(*s, &so);
    CHECK(so.scheduled_new_reqs.size() == 3);
    CHECK(so.scheduled_cached_reqs.empty());
    CHECK(so.total_num_scheduled_tokens == 60);
    CHECK(so.scheduled_new_reqs[0].block_ids.size() == 2);
    CHECK(so.scheduled_new_reqs[0].will_sample);
    CHECK(outs.size() == 3);
    CHECK(outs[0].new_token_ids == std::vector<int32_t>{7});
    CHECK(s->num_running() == 3);
    for (const auto& o : outs) CHECK(o.queued_seconds >= 0.0);  // first output: the queue time

    outs = step(*s, &so);  // decode: one token each, only the delta travels
    for (const auto& o : outs) CHECK(o.queued_seconds == -1.0);  // reported once only
    CHECK(so.scheduled_new_reqs.empty());
    REQUIRE(so.scheduled_cached_reqs.size() == 3);
    CHECK(so.total_num_scheduled_tokens == 3);
    CHECK(so.scheduled_cached_reqs[0].new_token_ids == std::vector<int32_t>{7});
    CHECK(so.scheduled_cached_reqs[0].num_computed_tokens == 20);
    CHECK(so.scheduled_cached_reqs[0].new_block_ids.empty());
    outs = step(*s, &so);
    REQUIRE(outs.size() == 3);
    for (const auto& o : outs) {
        CHECK(o.finished());
        CHECK(o.status == request_status::finished_length_capped);
        CHECK(o.num_output_tokens == 3);
    }
    CHECK_FALSE(s->has_unfinished_requests());
    CHECK(s->kv().num_free_blocks() == 64);
    so = s->schedule();
    CHECK(so.finished_req_ids.size() == 3);
    CHECK(so.empty());
    CHECK(s->stats().num_generation_tokens == 9);
}

TEST_CASE("scheduler: chunked prefill shares the token budget, running requests first") {
    auto cfg = small_config(64);
    cfg.max_num_batched_tokens = 64;
    auto s = make_scheduler(cfg);
    REQUIRE(s->add_request(make_spec("a", iota_tokens(100, 0))).ok());
    REQUIRE(s->add_request(make_spec("b", iota_tokens(100, 500))).ok());
    scheduler_output so;
    auto outs = step(*s, &so);
    CHECK(so.num_scheduled_tokens("a") == 64);
    CHECK(so.num_scheduled_tokens("b") == 0);
    CHECK_FALSE(so.scheduled_new_reqs[0].will_sample);
    CHECK(outs.empty());  // a partial prefill samples nothing
    outs = step(*s, &so);
    CHECK(so.num_scheduled_tokens("a") == 36);  // the rest of a first
    CHECK(so.num_scheduled_tokens("b") == 28);
    CHECK(so.scheduled_cached_reqs[0].new_token_ids.size() == 36);
    CHECK(so.scheduled_cached_reqs[0].new_token_ids[0] == 64);
    REQUIRE(outs.size() == 1);
    CHECK(outs[0].req_id == "a");
    outs = step(*s, &so);
    CHECK(so.num_scheduled_tokens("a") == 1);
    CHECK(so.num_scheduled_tokens("b") == 63);
    CHECK(so.total_num_scheduled_tokens == 64);
    step(*s, &so);
    CHECK(so.num_scheduled_tokens("b") == 9);
    CHECK(so.scheduled_cached_reqs[1].will_sample);
}

TEST_CASE("scheduler: long_prefill_token_threshold caps each prefill chunk") {
    auto cfg = small_config(64);
    cfg.long_prefill_token_threshold = 16;
    auto s = make_scheduler(cfg);
    REQUIRE(s->add_request(make_spec("long", iota_tokens(40, 0))).ok());
    REQUIRE(s->add_request(make_spec("short", iota_tokens(5, 900))).ok());
    scheduler_output so;
    step(*s, &so);
    CHECK(so.num_scheduled_tokens("long") == 16);
    CHECK(so.num_scheduled_tokens("short") == 5);
    step(*s, &so);
    CHECK(so.num_scheduled_tokens("long") == 16);
    step(*s, &so);
    CHECK(so.num_scheduled_tokens("long") == 8);
}

TEST_CASE("scheduler: max_num_seqs bounds the running set, and chunked prefill can be off") {
    auto cfg = small_config(64);
    cfg.max_num_seqs = 2;
    auto s = make_scheduler(cfg);
    for (int i = 0; i < 3; ++i)
        REQUIRE(s->add_request(make_spec(std::to_string(i), iota_tokens(4, 10 * i), 2)).ok());
    scheduler_output so;
    step(*s, &so);
    CHECK(so.scheduled_new_reqs.size() == 2);
    CHECK(s->num_waiting() == 1);
    step(*s, &so);  // 0 and 1 finish (max_tokens 2)
    CHECK(s->num_running() == 0);
    step(*s, &so);
    REQUIRE(so.scheduled_new_reqs.size() == 1);
    CHECK(so.scheduled_new_reqs[0].req_id == "2");

    auto off = small_config(64);
    off.enable_chunked_prefill = false;
    off.max_num_batched_tokens = 256;
    auto t = make_scheduler(off);
    REQUIRE(t->add_request(make_spec("x", iota_tokens(200, 0))).ok());
    REQUIRE(t->add_request(make_spec("y", iota_tokens(100, 300))).ok());
    step(*t, &so);
    CHECK(so.num_scheduled_tokens("x") == 200);
    CHECK(so.num_scheduled_tokens("y") == 0);  // would need chunking: waits whole
}

TEST_CASE("scheduler: stop rules: EOS, ignore_eos, min_tokens, stop_token_ids") {
    auto s = make_scheduler(small_config(64, 16, 32));
    auto eos = make_spec("eos", iota_tokens(4), 10);
    auto ign = make_spec("ign", iota_tokens(4, 50), 3);
    ign.params.ignore_eos = true;
    auto mint = make_spec("min", iota_tokens(4, 60), 10);
    mint.params.min_tokens = 2;
    auto stop = make_spec("stop", iota_tokens(4, 70), 10);
    stop.params.stop_token_ids = {9};
    for (auto* sp : {&eos, &ign, &mint, &stop}) REQUIRE(s->add_request(*sp).ok());
    std::map<std::string, request_output> done;
    auto tok = [](const std::string& id) { return id == "stop" ? 9 : 2; };  // 2 is EOS
    for (int i = 0; i < 6 && s->has_unfinished_requests(); ++i)
        for (auto& o : step(*s, nullptr, tok))
            if (o.finished()) done[o.req_id] = o;
    REQUIRE(done.size() == 4);
    CHECK(done["eos"].status == request_status::finished_stopped);
    CHECK(done["eos"].num_output_tokens == 1);
    CHECK(done["ign"].status == request_status::finished_length_capped);
    CHECK(done["ign"].num_output_tokens == 3);
    CHECK(done["min"].num_output_tokens == 2);  // EOS before min_tokens does not stop
    CHECK(done["min"].status == request_status::finished_stopped);
    CHECK(done["stop"].stop_reason == "9");
    CHECK(done["stop"].status == request_status::finished_stopped);
}

TEST_CASE("scheduler: max_model_len caps generation with max_tokens -1") {
    auto s = make_scheduler(small_config(64, 16, 32));
    REQUIRE(s->add_request(make_spec("cap", iota_tokens(30, 80), -1)).ok());
    request_output last;
    for (int i = 0; i < 5 && s->has_unfinished_requests(); ++i)
        for (auto& o : step(*s)) last = o;
    CHECK(last.status == request_status::finished_length_capped);
    CHECK(last.num_output_tokens == 2);  // 30 + 2 = 32 = max_model_len
}

TEST_CASE("scheduler: a second request with the same prompt starts from the prefix hit") {
    auto s = make_scheduler(small_config(64));
    REQUIRE(s->add_request(make_spec("a", iota_tokens(40), 2)).ok());
    REQUIRE(s->add_request(make_spec("b", iota_tokens(40), 2)).ok());  // scheduled in the same step
    scheduler_output so;
    step(*s, &so);
    REQUIRE(so.scheduled_new_reqs.size() == 2);
    CHECK(so.scheduled_new_reqs[0].num_computed_tokens == 0);
    CHECK(so.scheduled_new_reqs[1].num_computed_tokens == 32);  // shares a's 2 full blocks
    CHECK(so.scheduled_new_reqs[1].num_scheduled_tokens == 8);
    CHECK(so.scheduled_new_reqs[1].block_ids[0] == so.scheduled_new_reqs[0].block_ids[0]);
    CHECK(s->kv().pool().ref_count(so.scheduled_new_reqs[0].block_ids[1]) == 2);
    while (s->has_unfinished_requests()) step(*s);
    REQUIRE(s->add_request(make_spec("c", iota_tokens(40), 2)).ok());
    step(*s, &so);
    CHECK(so.scheduled_new_reqs[0].num_computed_tokens == 32);
    auto st = s->stats();
    CHECK(st.prefix_cache.queries == 120);
    CHECK(st.prefix_cache.hits == 64);
}

TEST_CASE("scheduler: abort during prefill, while waiting, and after finishing") {
    auto cfg = small_config(64);
    cfg.max_num_batched_tokens = 32;
    auto s = make_scheduler(cfg);
    REQUIRE(s->add_request(make_spec("a", iota_tokens(100, 0))).ok());
    REQUIRE(s->add_request(make_spec("w", iota_tokens(10, 500))).ok());
    step(*s);
    CHECK(s->kv().num_free_blocks() == 62);
    CHECK(s->abort_request("a"));
    CHECK(s->abort_request("w"));
    CHECK_FALSE(s->abort_request("a"));
    CHECK(core::check_kv_invariants(*s).ok());
    CHECK(s->kv().num_free_blocks() == 64);
    CHECK_FALSE(s->has_unfinished_requests());
    auto so = s->schedule();
    CHECK(so.empty());
    CHECK(so.finished_req_ids == std::vector<std::string>{"a", "w"});
    // A result arriving for an aborted request is ignored.
    REQUIRE(s->add_request(make_spec("b", iota_tokens(4, 900))).ok());
    so = s->schedule();
    s->abort_request("b");
    CHECK(s->update_from_output(so, fabricate_output(so)).empty());
    CHECK(core::check_kv_invariants(*s).ok());
}

TEST_CASE("scheduler: finish_request ends a request with a stop string") {
    auto s = make_scheduler(small_config(64));
    REQUIRE(s->add_request(make_spec("a", iota_tokens(8), 50)).ok());
    step(*s);
    CHECK(s->finish_request("a", request_status::finished_stopped, "THE END"));
    CHECK(s->find("a") == nullptr);
    CHECK(s->kv().num_free_blocks() == 64);
}

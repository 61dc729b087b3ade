// Engine core over the real CPU forward pass with stories260K: greedy outputs
// of four prompts batched together equal the golden ids of an independent
// reference, also under chunked prefill, prefix caching and preemption (the
// recompute after preemption yields the same text); llm_engine's text equals
// the golden completion; seeded sampling does not depend on the batch.
#include <doctest/doctest.h>

#include <simdjson.h>

#include <map>

#include "core/engine_loop.hpp"
#include "core/kv_invariants.hpp"
#include "core/llm_engine.hpp"
#include "backends/cpu/cpu_executor.hpp"
#include "model/model_loader.hpp"
#include "stories_executor.hpp"
#include "support/golden_cases.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::core;
using actorlm::test::golden_case;

namespace {

std::map<std::string, std::vector<int32_t>> run_golden(engine_loop& loop,
                                                       const std::vector<golden_case>& cases,
                                                       std::optional<uint64_t> seed = {}) {
    for (size_t i = 0; i < cases.size(); ++i) {
        request_spec s;
        s.req_id = std::to_string(i);
        s.prompt_token_ids = cases[i].prompt_ids;
        s.params.temperature = seed ? 0.9f : 0.0f;
        s.params.seed = seed;
        s.params.max_tokens = static_cast<int32_t>(cases[i].greedy_ids.size());
        s.params.stop_token_ids = {1};
        s.eos_token_ids = {2};
        REQUIRE(loop.add_request(std::move(s)).ok());
    }
    std::map<std::string, std::vector<int32_t>> got;
    for (int step = 0; step < 5000 && loop.has_unfinished_requests(); ++step) {
        for (auto& o : loop.step()) {
            REQUIRE(o.status != request_status::finished_error);
            got[o.req_id].insert(got[o.req_id].end(), o.new_token_ids.begin(),
                                 o.new_token_ids.end());
        }
        auto inv = check_kv_invariants(loop.sched());
        REQUIRE_MESSAGE(inv.ok(), inv.message());
    }
    return got;
}

}  // namespace

TEST_CASE("engine_loop: stories260K greedy equals the golden ids, batched, chunked and preempted") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const auto cases =
        actorlm::test::read_golden(actorlm::test::shared_path("models/stories260K.golden.json"));
    REQUIRE(cases.size() == 4);
    {
        auto ex = actorlm::test::make_stories_executor(64);
        scheduler_config cfg;
        cfg.num_blocks = 64;
        cfg.max_model_len = 512;
        auto loop = engine_loop::create(cfg, *ex);
        REQUIRE(loop.ok());
        auto got = run_golden(**loop, cases);
        for (size_t i = 0; i < cases.size(); ++i)
            CHECK(got[std::to_string(i)] == cases[i].greedy_ids);
    }
    {
        // Every case twice (prefix hits) in 20 blocks (320 tokens) for 874 tokens of
        // work, 16-token steps: chunked prefill, prefix caching and preemption all happen.
        std::vector<golden_case> twice = cases;
        twice.insert(twice.end(), cases.begin(), cases.end());
        auto ex = actorlm::test::make_stories_executor(20);
        scheduler_config cfg;
        cfg.num_blocks = 20;
        cfg.max_model_len = 320;
        cfg.max_num_batched_tokens = 16;
        cfg.long_prefill_token_threshold = 8;
        auto loop = engine_loop::create(cfg, *ex);
        REQUIRE(loop.ok());
        auto got = run_golden(**loop, twice);
        for (size_t i = 0; i < twice.size(); ++i)
            CHECK(got[std::to_string(i)] == twice[i].greedy_ids);
        const auto st = (*loop)->sched().stats();
        CHECK(st.num_preemptions > 0);
        CHECK(st.prefix_cache.hits > 0);
        MESSAGE("preemptions: " << st.num_preemptions << ", prefix-hit tokens "
                                << st.prefix_cache.hits);
    }
}

TEST_CASE("engine_loop: stories260K seeded sampling does not depend on the batch") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto cases =
        actorlm::test::read_golden(actorlm::test::shared_path("models/stories260K.golden.json"));
    std::vector<golden_case> alone = {cases[1]};
    auto ex1 = actorlm::test::make_stories_executor(64);
    scheduler_config cfg;
    cfg.num_blocks = 64;
    cfg.max_model_len = 512;
    auto l1 = engine_loop::create(cfg, *ex1, 1);
    REQUIRE(l1.ok());
    auto a = run_golden(**l1, alone, 77)["0"];
    std::vector<golden_case> crowd = {cases[1], cases[0], cases[2], cases[3]};
    auto ex2 = actorlm::test::make_stories_executor(64);
    auto l2 = engine_loop::create(cfg, *ex2, 2);
    REQUIRE(l2.ok());
    auto b = run_golden(**l2, crowd, 77)["0"];
    CHECK(a == b);
    CHECK(a != cases[1].greedy_ids);  // it did sample
}

TEST_CASE("engine_loop: llm_engine over stories260K writes the golden completion text") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    const auto cases =
        actorlm::test::read_golden(actorlm::test::shared_path("models/stories260K.golden.json"));
    actorlm::engine_config cfg;
    cfg.model_path = actorlm::test::shared_path("models/stories260K-hf");
    cfg.kv_cache_memory_bytes = 8 << 20;
    cfg.max_num_seqs = 8;
    cfg.num_threads = 1;
    auto eng = llm_engine::create(cfg);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    std::vector<actorlm::generate_request> reqs;
    for (size_t i = 1; i < cases.size(); ++i) {
        actorlm::generate_request r;
        r.prompt = cases[i].prompt;
        r.params.temperature = 0.0f;
        r.params.max_tokens = static_cast<int32_t>(cases[i].greedy_ids.size());
        reqs.push_back(std::move(r));
    }
    auto res = (*eng)->generate(std::move(reqs));
    REQUIRE(res.ok());
    for (size_t i = 1; i < cases.size(); ++i) {
        const auto& r = (*res)[i - 1];
        CHECK(r.prompt_token_ids == cases[i].prompt_ids);
        CHECK(r.outputs[0].token_ids == cases[i].greedy_ids);
        CHECK(r.outputs[0].text == cases[i].completion_text);
        CHECK(r.outputs[0].finish == actorlm::finish_reason::length);
    }
    auto bad = actorlm::engine_config{};
    bad.model_path = "/nonexistent/model.gguf";
    auto e2 = llm_engine::create(bad);
    REQUIRE_FALSE(e2.ok());
    CHECK(e2.message().find("/nonexistent/model.gguf") != std::string::npos);
}

// Engine loop: the forward_batch layout, and end-to-end runs over a paged
// test executor: the same greedy and seeded outputs alone and in a crowded
// batch with chunked prefill, prefix hits and preemption; prompt logprobs
// across chunks; executor failure ends the step's requests with an error.
#include <doctest/doctest.h>

#include <map>

#include "core/batch_builder.hpp"
#include "core/engine_loop.hpp"
#include "engine_loop_runs.hpp"

using namespace actorlm;
using namespace actorlm::core;
using namespace actorlm::test;

TEST_CASE("engine_loop: forward_batch uses vLLM's flattened layout") {
    std::vector<int32_t> a_toks = {5, 6, 7, 8, 9, 10};
    std::vector<int32_t> a_blocks = {3, 1};
    std::vector<int32_t> b_toks = {1, 2, 3};
    std::vector<int32_t> b_blocks = {0};
    std::vector<batch_row> rows = {
        {a_toks, a_blocks, 5, 1, 4, true, false},  // decode at position 5
        {b_toks, b_blocks, 0, 3, 3, true, true},   // prefill with prompt logprobs
    };
    auto bb = build_forward_batch(rows, 4);
    const auto& b = bb.batch;
    CHECK(b.token_ids == std::vector<int32_t>{10, 1, 2, 3});
    CHECK(b.positions == std::vector<int32_t>{5, 0, 1, 2});
    CHECK(b.query_start_loc == std::vector<int32_t>{0, 1, 4});
    CHECK(b.seq_lens == std::vector<int32_t>{6, 3});
    CHECK(b.slot_mapping == std::vector<int64_t>{1 * 4 + 1, 0, 1, 2});
    CHECK(b.max_blocks_per_seq == 2);
    CHECK(b.block_tables == std::vector<int32_t>{3, 1, 0, 0});
    CHECK(b.logits_indices ==
          std::vector<int32_t>{0, 1, 2, 3});  // b: prompt lp at 0, 1; sample at 2
    REQUIRE(bb.uses.size() == 4);
    CHECK(bb.uses[0].sample);
    CHECK_FALSE(bb.uses[1].sample);
    CHECK(bb.uses[3].sample);
    CHECK(bb.uses[3].position == 2);
    CHECK(b.mrope_positions.empty());  // no row has M-RoPE positions

    // An M-RoPE row (a prompt of 4 with its positions table, delta -1) beside a text row:
    // every token gets three positions, the text row's all equal to its position.
    mrope_prompt_positions mrope;
    mrope.positions = {0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2};
    mrope.delta = -1;
    rows[0].mrope = &mrope;
    const auto mixed = build_forward_batch(rows, 4);
    CHECK(mixed.batch.mrope_positions == std::vector<int32_t>{4, 4, 4, 0, 0, 0, 1, 1, 1, 2, 2, 2});
    rows[0].num_computed_tokens = 2;  // a chunk inside the prompt reads the table
    rows[0].num_scheduled_tokens = 2;
    CHECK(build_forward_batch(rows, 4).batch.mrope_positions ==
          std::vector<int32_t>{1, 1, 2, 2, 2, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2});
}

TEST_CASE("engine_loop: outputs do not depend on batching, chunking, prefix hits or preemption") {
    for (bool seeded : {false, true}) {
        // Reference: each request alone, big pool, no prefix caching, no chunking.
        const token_map alone = run_each_alone(paired_prefix_workload(seeded), 256);
        for (const auto& [id, tokens] : alone) CHECK(tokens.size() == 24);
        // Crowded: small pool (forces preemption), small budget (chunks), prefix caching.
        paged_hash_executor ex(40, 4);
        auto cfg = small_config(40, 4, 160);
        cfg.max_num_batched_tokens = 37;
        cfg.long_prefill_token_threshold = 20;
        auto loop = engine_loop::create(cfg, ex, 99);
        REQUIRE(loop.ok());
        for (auto& spec : paired_prefix_workload(seeded)) REQUIRE((*loop)->add_request(spec).ok());
        auto crowded = run_all(**loop);
        CHECK(crowded == alone);
        auto st = (*loop)->sched().stats();
        CHECK(st.num_preemptions > 0);
        CHECK(st.prefix_cache.hits > 0);
        MESSAGE("seeded " << seeded << ": " << st.num_preemptions << " preemptions, "
                          << st.prefix_cache.hits << " prefix-hit tokens");
    }
}

TEST_CASE("engine_loop: prompt logprobs cover every prompt position across chunks") {
    paged_hash_executor ex(64, 4);
    auto cfg = small_config(64, 4, 256);
    cfg.max_num_batched_tokens = 8;
    auto loop = engine_loop::create(cfg, ex);
    REQUIRE(loop.ok());
    auto spec = make_spec("p", iota_tokens(19, 3), 2);
    spec.params.prompt_logprobs = 2;
    spec.params.logprobs = 1;
    REQUIRE((*loop)->add_request(spec).ok());
    std::vector<std::optional<position_logprobs>> plp;
    std::vector<position_logprobs> lp;
    std::vector<int32_t> toks;
    while ((*loop)->has_unfinished_requests())
        for (auto& o : (*loop)->step()) {
            plp.insert(plp.end(), o.prompt_logprobs.begin(), o.prompt_logprobs.end());
            lp.insert(lp.end(), o.logprobs.begin(), o.logprobs.end());
            toks.insert(toks.end(), o.new_token_ids.begin(), o.new_token_ids.end());
        }
    REQUIRE(plp.size() == 19);
    CHECK_FALSE(plp[0].has_value());
    for (size_t i = 1; i < plp.size(); ++i) {
        REQUIRE(plp[i].has_value());
        CHECK(plp[i]->token_ids[0] == 3 + static_cast<int32_t>(i));  // the actual prompt token
        CHECK(plp[i]->token_ids.size() == 3);
        CHECK(plp[i]->logprobs[0] <= 0.0f);
    }
    REQUIRE(lp.size() == 2);
    CHECK(lp[0].token_ids[0] == toks[0]);
    CHECK(lp[0].rank == 1);  // greedy picks the top raw logprob
}

TEST_CASE("engine_loop: an executor failure ends the step's requests with an error") {
    paged_hash_executor ex(64, 4);
    auto loop = engine_loop::create(small_config(64, 4, 256), ex);
    REQUIRE(loop.ok());
    REQUIRE((*loop)->add_request(make_spec("a", iota_tokens(10, 1), 5)).ok());
    ex.fail_next();
    auto outs = (*loop)->step();
    REQUIRE(outs.size() == 1);
    CHECK(outs[0].status == request_status::finished_error);
    CHECK(outs[0].stop_reason.find("injected executor failure") != std::string::npos);
    CHECK_FALSE((*loop)->has_unfinished_requests());
    CHECK((*loop)->sched().kv().num_free_blocks() == 64);
    // The engine keeps working afterwards.
    REQUIRE((*loop)->add_request(make_spec("b", iota_tokens(10, 1), 3)).ok());
    CHECK(run_all(**loop)["b"].size() == 3);
}

TEST_CASE("engine_loop: create rejects a scheduler that does not match the executor") {
    paged_hash_executor ex(16, 4);
    auto cfg = small_config(16, 8, 64);
    auto bad = engine_loop::create(cfg, ex);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message().find("block_size 8") != std::string::npos);
    auto cfg2 = small_config(32, 4, 64);
    auto too_many = engine_loop::create(cfg2, ex);
    REQUIRE_FALSE(too_many.ok());
    CHECK(too_many.message().find("32 KV blocks") != std::string::npos);
}

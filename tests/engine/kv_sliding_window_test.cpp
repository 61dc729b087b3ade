// Sliding-window KV blocks (vLLM's SlidingWindowManager): the blocks a request's window
// left behind are given back as it advances and stand as the null block in its table; a
// prefix hit needs only the blocks inside the window of its end; a pool far smaller than
// max_model_len then serves long sequences; and outputs equal those of a run that keeps
// every block, through chunked prefill, prefix hits and preemption.
#include <doctest/doctest.h>

#include <set>

#include "core/engine_plan.hpp"
#include "core/kv_cache_manager.hpp"
#include "core/sliding_window_blocks.hpp"
#include "engine_loop_runs.hpp"

using namespace actorlm;
using namespace actorlm::core;
using namespace actorlm::test;

namespace {

constexpr int32_t k_null = block_pool::k_null_block;

request make_req(const std::string& id, std::vector<int32_t> toks, int32_t block_size) {
    sampling_params p;
    return request(id, std::move(toks), p, {2}, block_size, 0, 0.0, {});
}

/// A hit search over blocks whose cached ids are 100 + index, for the indices in `cached`.
std::vector<int32_t> hit_over(const std::set<int32_t>& cached, int32_t max_blocks, int32_t window,
                              int32_t block_size) {
    return find_sliding_window_hit(max_blocks, window, block_size, k_null,
                                   [&](int32_t i) -> std::optional<int32_t> {
                                       if (!cached.count(i)) return std::nullopt;
                                       return 100 + i;
                                   });
}

int32_t live_blocks(std::span<const int32_t> table) {
    int32_t n = 0;
    for (int32_t b : table) n += b != k_null;
    return n;
}

}  // namespace

TEST_CASE("sliding window blocks: skipped blocks, the per-request bound, the hit search") {
    // Window 8, blocks of 4: after n computed tokens the next query reads from n - 7.
    CHECK(num_skipped_blocks(0, 8, 4) == 0);
    CHECK(num_skipped_blocks(8, 8, 4) == 0);   // reads from position 1: block 0 still
    CHECK(num_skipped_blocks(11, 8, 4) == 1);  // reads from 4
    CHECK(num_skipped_blocks(16, 8, 4) == 2);  // reads from 9
    CHECK(num_skipped_blocks(100, 1, 4) == 25);
    // 160 tokens, 37 per step: all 40 blocks, or the window's 7 + chunk's 37 = 44 tokens
    // spanning at most 12 blocks.
    CHECK(max_blocks_per_request(160, 4, 0, 37) == 40);
    CHECK(max_blocks_per_request(160, 4, 8, 37) == 12);
    CHECK(max_blocks_per_request(20, 4, 8, 37) == 5);  // never more than the whole table

    // A hit ending at block h needs blocks h-2 and h-1 (ceil(7 / 4) = 2) cached.
    CHECK(hit_over({0, 1, 2, 3, 5, 6}, 8, 8, 4) ==
          std::vector<int32_t>{k_null, k_null, k_null, k_null, k_null, 105, 106});
    CHECK(hit_over({0, 1, 2}, 8, 8, 4) == std::vector<int32_t>{k_null, 101, 102});
    CHECK(hit_over({0}, 8, 8, 4) == std::vector<int32_t>{100});  // from block 0: no window
    CHECK(hit_over({3}, 8, 8, 4).empty());                        // one block, not enough
    CHECK(hit_over({}, 8, 8, 4).empty());
    CHECK(hit_over({0, 1, 2, 3}, 2, 8, 4) == std::vector<int32_t>{100, 101});  // capped
}

TEST_CASE("kv_cache_manager: a sliding window frees the blocks behind it, hits skip them") {
    kv_cache_manager kv(12, 4, 256, true, false, {8});  // block 0 is the null block
    CHECK(kv.num_free_blocks() == 11);
    auto a = make_req("a", iota_tokens(30), 4);
    auto hit = kv.get_computed_blocks(a);
    REQUIRE(kv.allocate_slots(a, 30, &hit));  // the whole prompt in one step: 8 blocks
    CHECK(live_blocks(kv.block_ids("a")) == 8);
    a.num_computed_tokens = 30;
    // The next query (position 30) reads from 23: blocks 0..4 go back to the pool.
    REQUIRE(kv.allocate_slots(a, 1));
    const auto table = kv.block_ids("a");
    CHECK(std::vector<int32_t>(table.begin(), table.begin() + 5) ==
          std::vector<int32_t>(5, k_null));
    CHECK(live_blocks(table) == 3);
    CHECK(kv.num_free_blocks() == 8);
    CHECK(kv.usage() == doctest::Approx(3.0 / 11.0));

    // The same 30 tokens again: blocks 5 and 6 (positions 20..27) are still held, so a hit
    // of 7 blocks (28 tokens) needs nothing before them.
    auto b = make_req("b", iota_tokens(30), 4);
    auto hit_b = kv.get_computed_blocks(b);
    CHECK(hit_b.num_tokens == 28);
    CHECK(live_blocks(hit_b.block_ids) == 2);
    REQUIRE(kv.allocate_slots(b, 2, &hit_b));
    CHECK(kv.pool().ref_count(table[5]) == 2);
    kv.free(a);
    kv.free(b);
    CHECK(kv.num_free_blocks() == 11);
    CHECK(kv.pool().ref_count(k_null) == 0);
    CHECK_FALSE(kv.pool().free_queue().contains(k_null));
}

TEST_CASE("scheduler: under a sliding window a pool far below max_model_len serves it") {
    auto cfg = small_config(13, 4, 160);  // 52 tokens of cache for 160-token sequences
    cfg.max_num_batched_tokens = 37;
    auto refused = scheduler::create(cfg);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.message().find("needs 40 blocks") != std::string::npos);
    cfg.kv_group_windows = {8};  // needs 12 blocks, 12 usable
    auto s = make_scheduler(cfg);
    auto spec = make_spec("long", iota_tokens(120, 3), 40);
    spec.eos_token_ids = {};
    REQUIRE(s->add_request(std::move(spec)).ok());
    int32_t generated = 0;
    for (int i = 0; i < 400 && s->has_unfinished_requests(); ++i)
        for (auto& o : step(*s)) generated += static_cast<int32_t>(o.new_token_ids.size());
    CHECK(generated == 40);
    CHECK(s->kv().num_free_blocks() == 12);
}

TEST_CASE("engine_loop: under a sliding window, outputs equal a run that keeps every block") {
    for (bool seeded : {false, true}) {
        CAPTURE(seeded);
        // Reference: each request alone in a big pool that frees nothing, no prefix cache.
        const token_map alone = run_each_alone(paired_prefix_workload(seeded), 160, 8);
        for (const auto& [id, tokens] : alone) CHECK(tokens.size() == 24);
        // Crowded: 20 blocks (80 tokens, less than one 160-token sequence without the
        // window), chunks of at most 37 tokens, prefix caching, preemption.
        paged_hash_executor ex(20, 4);
        ex.set_sliding_window(8);
        auto cfg = small_config(20, 4, 160);
        cfg.kv_group_windows = {8};
        cfg.max_num_batched_tokens = 37;
        cfg.long_prefill_token_threshold = 20;
        auto loop = engine_loop::create(cfg, ex, 99);
        REQUIRE(loop.ok());
        for (auto& spec : paired_prefix_workload(seeded)) REQUIRE((*loop)->add_request(spec).ok());
        int32_t max_live = 0;
        CHECK(run_all(**loop, &max_live) == alone);
        const auto st = (*loop)->sched().stats();
        CHECK(st.num_preemptions > 0);
        CHECK(st.prefix_cache.hits > 0);
        CHECK(max_live <= max_blocks_per_request(160, 4, 8, 37));
        MESSAGE("seeded " << seeded << ": " << st.num_preemptions << " preemptions, "
                          << st.prefix_cache.hits << " prefix-hit tokens, at most " << max_live
                          << " live blocks per request");
    }
}

TEST_CASE("engine plan: blocks are freed when every layer slides, kept otherwise") {
    actorlm::engine_config cfg;
    model_config model;
    model.vocab_size = 64;
    model.num_layers = 2;
    model.max_position = 4096;
    model.sliding_window = 512;  // Mistral v0.1: every layer
    auto every = make_scheduler_config(cfg, model, 1000, 16);
    REQUIRE(every.ok());
    CHECK(every->kv_group_windows == std::vector<int32_t>{512});
    // Only layer 1 slides (Qwen2's max_window_layers, Gemma's alternation): layer 0 reads
    // every block, so they all stay; the window only masks.
    model.sliding_layers = {false, true};
    auto some = make_scheduler_config(cfg, model, 1000, 16);
    REQUIRE(some.ok());
    CHECK(some->kv_group_windows == std::vector<int32_t>{0});
    // An executor that pages per attention type: a full group and a window group.
    auto grouped = make_scheduler_config(cfg, model, 1000, 16, true);
    REQUIRE(grouped.ok());
    CHECK(grouped->kv_group_windows == std::vector<int32_t>{0, 512});
    // A KV connector saves and loads whole tables: nothing is freed under it.
    model.sliding_layers.clear();
    cfg.kv_transfer_config = R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both"})";
    auto connected = make_scheduler_config(cfg, model, 1000, 16);
    REQUIRE(connected.ok());
    CHECK(connected->kv_group_windows == std::vector<int32_t>{0});
}

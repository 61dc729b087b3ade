// KV-cache groups for models that mix full-attention and sliding-window layers (vLLM's
// hybrid KV cache manager): the layout gives each attention type block tables of its own
// with equal layer slots; the manager frees a window group's blocks while the full group
// keeps them, and a prefix hit is the longest every group can serve; the CPU executor
// pages K/V per group and computes exactly what one table over every layer computes,
// through chunked prefill, decode and prefix hits, and under a pool that forces
// preemption.
#include <doctest/doctest.h>

#include <map>

#include "backends/cpu/cpu_executor.hpp"
#include "core/engine_loop.hpp"
#include "core/kv_cache_manager.hpp"
#include "model/kv_cache_layout.hpp"
#include "scheduler_factories.hpp"
#include "support/reference_model.hpp"

using namespace actorlm;
using namespace actorlm::core;
using namespace actorlm::test;

namespace {

constexpr int32_t k_null_entry = block_pool::k_null_block;

/// Layers that slide under `window`, by a pattern repeated over `num_layers`.
model_config mixed_config(int64_t num_layers, const std::vector<bool>& pattern, int32_t window) {
    model_config c = tiny_config(model_arch::llama, 0);
    c.num_layers = num_layers;
    c.sliding_window = window;
    for (int64_t l = 0; l < num_layers; ++l)
        c.sliding_layers.push_back(pattern[static_cast<size_t>(l) % pattern.size()]);
    return c;
}

request hybrid_req(const std::string& id, std::vector<int32_t> toks, int32_t block_size) {
    sampling_params p;
    return request(id, std::move(toks), p, {2}, block_size, 0, 0.0, {});
}

struct grouped_run {
    std::map<std::string, std::vector<int32_t>> tokens;
    std::map<std::string, std::vector<float>> logprobs;
    int64_t preemptions = 0;
    int64_t prefix_hits = 0;
    int32_t peak_blocks = 0;
};

/// Six requests (pairs share 24 tokens), 12 greedy tokens each with their logprobs,
/// through the engine loop over a CPU executor of `c`.
grouped_run generate(const model_config& c, const model_weights& w, bool hybrid,
                    int32_t num_blocks) {
    cpu_executor_options opt;
    opt.num_threads = 2;
    opt.hybrid_kv_groups = hybrid;
    auto ex = cpu_executor::create(c, w, {num_blocks, 4, dtype::f32}, opt);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
    auto cfg = small_config(num_blocks, 4, 96);
    cfg.kv_group_windows = make_kv_cache_layout(c, hybrid).group_windows();
    cfg.max_num_batched_tokens = 23;  // prompts arrive in chunks
    cfg.vocab_size = c.vocab_size;
    auto loop = engine_loop::create(cfg, **ex, 5);
    REQUIRE_MESSAGE(loop.ok(), (loop.ok() ? "" : loop.message()));
    for (int i = 0; i < 6; ++i) {
        std::vector<int32_t> prompt = iota_tokens(24, 3 + 10 * (i / 2));
        for (int t = 0; t < 7 + 5 * i; ++t) prompt.push_back((t * 7 + i * 3) % 90 + 3);
        auto spec = make_spec("h" + std::to_string(i), prompt, 12);
        spec.eos_token_ids = {};
        spec.params.logprobs = 0;  // the sampled token's logprob
        REQUIRE((*loop)->add_request(std::move(spec)).ok());
    }
    grouped_run got;
    for (int step = 0; step < 2000 && (*loop)->has_unfinished_requests(); ++step) {
        for (auto& o : (*loop)->step()) {
            auto& t = got.tokens[o.req_id];
            t.insert(t.end(), o.new_token_ids.begin(), o.new_token_ids.end());
            for (const auto& lp : o.logprobs) got.logprobs[o.req_id].push_back(lp.logprobs[0]);
        }
        auto inv = check_kv_invariants((*loop)->sched());
        REQUIRE_MESSAGE(inv.ok(), inv.message());
        const auto& kv = (*loop)->sched().kv();
        got.peak_blocks =
            std::max(got.peak_blocks, kv.pool().num_used_blocks());
    }
    REQUIRE_FALSE((*loop)->has_unfinished_requests());
    got.preemptions = (*loop)->sched().stats().num_preemptions;
    got.prefix_hits = (*loop)->sched().stats().prefix_cache.hits;
    return got;
}

}  // namespace

TEST_CASE("kv cache layout: groups per attention type with equal layer slots") {
    // Gemma 2: local and global layers alternate: two groups of two slots.
    auto g2 = make_kv_cache_layout(mixed_config(4, {true, false}, 8), true);
    REQUIRE(g2.num_groups() == 2);
    CHECK(g2.num_slots == 2);
    CHECK(g2.groups[0].sliding_window == 0);
    CHECK(g2.groups[0].layers == std::vector<int64_t>{1, 3});
    CHECK(g2.groups[1].sliding_window == 8);
    CHECK(g2.groups[1].layers == std::vector<int64_t>{0, 2});
    CHECK(g2.group_of_layer == std::vector<int32_t>{1, 0, 1, 0});
    CHECK(g2.slot_of_layer == std::vector<int32_t>{0, 0, 1, 1});
    // Gemma 3 1B: 26 layers, every sixth global: 4 full layers, 22 local ones cut into
    // groups of 4 (the last of 2), so a block holds 4 layers instead of 26.
    auto g3 = make_kv_cache_layout(mixed_config(26, {true, true, true, true, true, false}, 512),
                                   true);
    CHECK(g3.num_slots == 4);
    REQUIRE(g3.num_groups() == 7);
    CHECK(g3.groups[0].layers == std::vector<int64_t>{5, 11, 17, 23});
    CHECK(g3.groups[6].layers == std::vector<int64_t>{24, 25});
    CHECK(g3.group_windows() == std::vector<int32_t>{0, 512, 512, 512, 512, 512, 512});
    // Nearly equal counts take the larger, padding the smaller type (vLLM's 1.25 rule):
    // 9 sliding and 8 full layers make two groups of 9 slots, not three of 8.
    auto near = make_kv_cache_layout(mixed_config(17, {true, false}, 8), true);
    CHECK(near.num_slots == 9);
    CHECK(near.num_groups() == 2);
    // At 1.25 or more, the smaller count: 5 full and 4 sliding make 3 groups of 4.
    auto apart = make_kv_cache_layout(mixed_config(9, {true, false, true, false, false}, 8), true);
    CHECK(apart.num_slots == 4);
    CHECK(apart.num_groups() == 3);
    // Without grouping, or without mixed attention: one group of every layer.
    auto single = make_kv_cache_layout(mixed_config(4, {true, false}, 8), false);
    CHECK(single.num_groups() == 1);
    CHECK(single.num_slots == 4);
    CHECK(single.group_windows() == std::vector<int32_t>{0});
    auto all = make_kv_cache_layout(mixed_config(4, {true}, 8), true);
    CHECK(all.group_windows() == std::vector<int32_t>{8});
}

TEST_CASE("kv_cache_manager: a window group frees its blocks, the full group keeps them") {
    kv_cache_manager kv(40, 4, 256, true, false, {0, 8});  // groups: full, window 8
    auto a = hybrid_req("a", iota_tokens(30), 4);
    auto hit = kv.get_computed_blocks(a);
    REQUIRE(kv.allocate_slots(a, 30, &hit));
    CHECK(kv.block_ids("a").size() == 16);  // 8 block indices x 2 groups
    a.num_computed_tokens = 30;
    REQUIRE(kv.allocate_slots(a, 1));  // reads from 23: indices 0..4 of the window go
    const auto table = kv.block_ids("a");
    for (size_t i = 0; i < 8; ++i) {
        CAPTURE(i);
        CHECK(table[2 * i] != k_null_entry);                 // full attention keeps every block
        CHECK((table[2 * i + 1] == k_null_entry) == (i < 5));  // the window group freed 0..4
    }
    CHECK(kv.num_free_blocks() == 39 - 11);
    // The same prompt again: the full group's run of 7 cached blocks and the window's last
    // two of them make a 28-token hit; the window's entries before those are null.
    auto b = hybrid_req("b", iota_tokens(30), 4);
    auto hit_b = kv.get_computed_blocks(b);
    CHECK(hit_b.num_tokens == 28);
    REQUIRE(hit_b.block_ids.size() == 14);
    CHECK(hit_b.block_ids[2 * 6] == table[2 * 6]);
    CHECK(hit_b.block_ids[2 * 6 + 1] == table[2 * 6 + 1]);
    CHECK(hit_b.block_ids[2 * 4 + 1] == k_null_entry);
    // Freed, a's blocks stay cached until evicted: the same hit.
    kv.free(a);
    auto c = hybrid_req("c", iota_tokens(30), 4);
    auto hit_c = kv.get_computed_blocks(c);
    CHECK(hit_c.num_tokens == 28);  // freed blocks stay cached until evicted
    CHECK(kv.num_free_blocks() == 39);
}

TEST_CASE("cpu executor: KV groups compute what one table over every layer computes") {
    // Gemma-2-like alternation (2 groups of 2 slots) and Gemma-3-like 5:1 (6 groups of 1).
    for (const auto& [layers, pattern] :
         {std::pair<int64_t, std::vector<bool>>{4, {true, false}},
          {6, {true, true, true, true, true, false}}}) {
        CAPTURE(layers);
        const model_config c = mixed_config(layers, pattern, 5);
        const model_weights w = random_weights(c, 77);
        // A pool that never preempts, so both runs schedule the same batches: the
        // floats must then be identical, prefix hits included.
        const grouped_run one_table = generate(c, w, false, 256);
        const grouped_run grouped = generate(c, w, true, 256);
        CHECK(grouped.tokens == one_table.tokens);
        CHECK(grouped.logprobs == one_table.logprobs);
        CHECK(grouped.prefix_hits == one_table.prefix_hits);
        CHECK(grouped.prefix_hits > 0);
        CHECK(grouped.tokens.at("h5").size() == 12);
        // Each grouped block holds layers / groups' worth of layers; the window groups give
        // theirs back, so the peak in layer pages is lower than with one table.
        const auto layout = make_kv_cache_layout(c, true);
        CHECK(grouped.peak_blocks * layout.num_slots < one_table.peak_blocks * layers);
        MESSAGE(layers << " layers: peak " << one_table.peak_blocks << " blocks x " << layers
                       << " layers with one table, " << grouped.peak_blocks << " x "
                       << layout.num_slots << " with " << layout.num_groups() << " groups");
        // A pool that forces preemption (just what one 96-token request needs, plus 8):
        // the same greedy tokens.
        auto need = small_config(1, 4, 96);
        need.kv_group_windows = layout.group_windows();
        need.max_num_batched_tokens = 23;
        const grouped_run crowded = generate(c, w, true, need.max_blocks_per_request() + 9);
        CHECK(crowded.preemptions > 0);
        CHECK(crowded.tokens == one_table.tokens);
    }
}

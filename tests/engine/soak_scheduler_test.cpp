// Randomized soak of the scheduler with a fabricated worker: thousands of
// requests of random lengths, shared prefixes, random aborts, EOS and stop
// tokens, under a small pool that forces preemption and eviction. The KV
// invariants are checked after every schedule() and update; at the end every
// block is free; under a sliding window also that no table lost a block its window
// still reads. Deterministic (fixed seed).
#include <doctest/doctest.h>

#include <random>

#include "scheduler_factories.hpp"

using namespace actorlm;
using namespace actorlm::core;
using namespace actorlm::test;

namespace {

void run_soak(scheduling_policy policy, bool caching, uint32_t seed,
              std::vector<int32_t> group_windows = {0}, int32_t num_blocks = 96) {
    auto cfg = small_config(num_blocks, 8, 256);
    cfg.kv_group_windows = std::move(group_windows);
    cfg.policy = policy;
    cfg.enable_prefix_caching = caching;
    cfg.max_num_seqs = 24;
    cfg.max_num_batched_tokens = 128;
    cfg.long_prefill_token_threshold = 48;
    auto s = make_scheduler(cfg);
    std::mt19937 rng(seed);
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const int total = 2000;
    int added = 0, finished = 0, steps = 0;
    std::vector<std::string> live;
    while ((added < total || s->has_unfinished_requests()) && steps < 200000) {
        ++steps;
        for (int k = uni(0, 3); k > 0 && added < total; --k) {
            // A few shared system prompts so prefix hits and shared blocks happen.
            std::vector<int32_t> prompt = iota_tokens(uni(0, 3) * 8, 10000 * uni(0, 2));
            const int tail = uni(1, 120);
            for (int t = 0; t < tail; ++t) prompt.push_back(uni(3, 500));
            const int max_tokens = uni(1, 60);
            auto spec = make_spec(std::to_string(added), std::move(prompt), max_tokens, uni(0, 3));
            spec.params.stop_token_ids = {uni(3, 500)};
            spec.params.min_tokens = uni(0, std::min(2, max_tokens));
            REQUIRE(s->add_request(std::move(spec)).ok());
            live.push_back(std::to_string(added));
            ++added;
        }
        if (uni(0, 9) == 0 && !live.empty()) {
            const size_t i = static_cast<size_t>(uni(0, static_cast<int>(live.size()) - 1));
            finished += s->abort_request(live[i]) ? 1 : 0;
            live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
        }
        for (auto& o : step(*s, nullptr, [&](const std::string&) { return uni(1, 500); }))
            finished += o.finished() ? 1 : 0;
    }
    CHECK(steps < 200000);
    CHECK(finished == total);
    CHECK_FALSE(s->has_unfinished_requests());
    CHECK(s->kv().num_free_blocks() == s->kv().pool().num_usable_blocks());
    auto st = s->stats();
    MESSAGE("steps " << steps << " preemptions " << st.num_preemptions << " prefix hits "
                     << st.prefix_cache.hits << "/" << st.prefix_cache.queries);
    CHECK(st.num_preemptions > 0);  // the pool is small enough to force it
    if (caching) CHECK(st.prefix_cache.hits > 0);
}

}  // namespace

TEST_CASE("soak: 2000 random requests, FCFS, prefix caching, invariants every step") {
    run_soak(scheduling_policy::fcfs, true, 1);
}

TEST_CASE("soak: 2000 random requests, priority policy, invariants every step") {
    run_soak(scheduling_policy::priority, true, 2);
}

TEST_CASE("soak: 2000 random requests without prefix caching") {
    run_soak(scheduling_policy::fcfs, false, 3);
}

TEST_CASE("soak: 2000 random requests under a 24-token sliding window that frees blocks") {
    // A window holds at most (24 - 1 + 128) / 8 + 1 = 20 blocks per request: a pool of 40
    // (a sixth of what 256-token sequences would take for 24 requests) still preempts.
    run_soak(scheduling_policy::fcfs, true, 4, {24}, 40);
}

TEST_CASE("soak: 2000 random requests over a full-attention group and two window groups") {
    // Gemma-like groups: one request holds up to 32 full blocks and 20 per window group.
    run_soak(scheduling_policy::fcfs, true, 5, {0, 24, 24}, 80);
}

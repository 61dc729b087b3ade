// Runs of the engine loop over the paged hash executor (engine_loop_paged_executor.hpp)
// that the core tests compare: their workload, a crowded run stepped to the end with the
// KV invariants checked every step, and each request alone in a pool that never preempts
// or shares.
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "core/engine_loop.hpp"
#include "core/kv_invariants.hpp"
#include "engine_loop_paged_executor.hpp"
#include "scheduler_factories.hpp"

namespace actorlm::test {

using token_map = std::map<std::string, std::vector<int32_t>>;

/// Eight requests of 45..94 prompt tokens, pairs sharing a 40-token prefix (so prefix hits
/// happen), each generating 24 tokens (no EOS); greedy, or seeded top-p sampling.
inline std::vector<core::request_spec> paired_prefix_workload(bool seeded) {
    std::vector<core::request_spec> specs;
    for (int i = 0; i < 8; ++i) {
        auto prompt = iota_tokens(40, 100 * (i / 2));
        for (int t = 0; t < 5 + 7 * i; ++t) prompt.push_back((t * 13 + i) % 60 + 1);
        for (auto& tok : prompt) tok %= 64;
        auto s = make_spec("q" + std::to_string(i), prompt, 24);
        s.eos_token_ids = {};  // run to max_tokens
        if (seeded) {
            s.params.temperature = 0.8f;
            s.params.top_p = 0.9f;
            s.params.seed = 1000 + static_cast<uint64_t>(i);
        }
        specs.push_back(std::move(s));
    }
    return specs;
}

/// Steps `loop` until no request is left (at most `max_steps`), checking the KV invariants
/// after every step; `max_live` (if given) gets the most non-null blocks one table held.
inline token_map run_all(core::engine_loop& loop, int32_t* max_live = nullptr,
                         int max_steps = 20000) {
    token_map got;
    for (int i = 0; i < max_steps && loop.has_unfinished_requests(); ++i) {
        for (auto& o : loop.step())
            got[o.req_id].insert(got[o.req_id].end(), o.new_token_ids.begin(),
                                 o.new_token_ids.end());
        auto inv = core::check_kv_invariants(loop.sched());
        REQUIRE_MESSAGE(inv.ok(), inv.message());
        if (max_live)
            loop.sched().kv().for_each_table([&](const std::string&, std::span<const int32_t> t) {
                int32_t live = 0;
                for (int32_t b : t) live += b != core::block_pool::k_null_block;
                *max_live = std::max(*max_live, live);
            });
    }
    return got;
}

/// Each of `specs` alone: 64 blocks of 4 tokens that free nothing, no prefix caching, over
/// a paged hash executor whose positions read their last `window` positions (0: all).
inline token_map run_each_alone(const std::vector<core::request_spec>& specs,
                                int32_t max_model_len, int32_t window = 0) {
    token_map alone;
    for (const auto& spec : specs) {
        paged_hash_executor ex(64, 4);
        if (window > 0) ex.set_sliding_window(window);
        auto cfg = small_config(64, 4, max_model_len);
        cfg.enable_prefix_caching = false;
        auto loop = core::engine_loop::create(cfg, ex, 7);
        REQUIRE(loop.ok());
        REQUIRE((*loop)->add_request(spec).ok());
        alone[spec.req_id] = run_all(**loop)[spec.req_id];
    }
    return alone;
}

}  // namespace actorlm::test

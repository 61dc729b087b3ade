// Factories for the core tests (vLLM's create_scheduler / create_requests):
// schedulers with small pools, request specs with distinct or shared prompts,
// and a fabricated worker that "samples" a scripted token for every request
// whose prompt is done. No model involved; single-threaded.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/kv_invariants.hpp"
#include "core/scheduler.hpp"

namespace actorlm::test {

inline core::scheduler_config small_config(int32_t num_blocks, int32_t block_size = 16,
                                           int32_t max_model_len = 256) {
    core::scheduler_config c;
    c.num_blocks = num_blocks;
    c.block_size = block_size;
    c.max_model_len = max_model_len;
    c.max_num_seqs = 16;
    c.max_num_batched_tokens = 512;
    return c;
}

inline std::unique_ptr<core::scheduler> make_scheduler(const core::scheduler_config& c) {
    auto s = core::scheduler::create(c);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.message()));
    return std::move(s).value();
}

/// Tokens [first, first + n): distinct prompts use distinct `first`.
inline std::vector<int32_t> iota_tokens(int32_t n, int32_t first = 1000) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = first + i;
    return t;
}

inline core::request_spec make_spec(std::string id, std::vector<int32_t> prompt,
                                    int32_t max_tokens = 16, int32_t priority = 0) {
    core::request_spec s;
    s.req_id = std::move(id);
    s.prompt_token_ids = std::move(prompt);
    s.params.max_tokens = max_tokens;
    s.params.temperature = 0.0f;
    s.eos_token_ids = {2};
    s.priority = priority;
    return s;
}

/// A worker stand-in: for every scheduled request that samples this step, the
/// token `next_token(req_id)` (default 7, never EOS).
inline core::model_runner_output fabricate_output(
    const core::scheduler_output& so,
    const std::function<int32_t(const std::string&)>& next_token = {}) {
    core::model_runner_output out;
    auto add = [&](const std::string& id, bool sample) {
        out.req_ids.push_back(id);
        out.sampled_token_ids.push_back({});
        if (sample) out.sampled_token_ids.back().push_back(next_token ? next_token(id) : 7);
    };
    for (const auto& r : so.scheduled_cached_reqs) add(r.req_id, r.will_sample);
    for (const auto& r : so.scheduled_new_reqs) add(r.req_id, r.will_sample);
    return out;
}

/// One schedule + fabricated update; checks the invariants after both.
inline std::vector<core::request_output> step(
    core::scheduler& s, core::scheduler_output* so_out = nullptr,
    const std::function<int32_t(const std::string&)>& tok = {}) {
    core::scheduler_output so = s.schedule();
    auto inv = core::check_kv_invariants(s);
    REQUIRE_MESSAGE(inv.ok(), inv.message());
    auto outs = s.update_from_output(so, fabricate_output(so, tok));
    inv = core::check_kv_invariants(s);
    REQUIRE_MESSAGE(inv.ok(), inv.message());
    if (so_out) *so_out = std::move(so);
    return outs;
}

}  // namespace actorlm::test

// Speculative decoding end to end in the engine core: outputs with n-gram drafts
// equal those without, token for token (and logprob for logprob), over an executor
// that reads every token back through the paged KV cache (spec_decode_executor.hpp)
// under preemption, prefix hits and chunked prefill, for greedy and seeded sampling
// with penalties; over stories260K on the golden prompts and on self-repeating text;
// and through llm_engine with stop strings, max_tokens, n > 1, logprobs and abort.
#include <doctest/doctest.h>

#include <map>

#include "backends/cpu/cpu_executor.hpp"
#include "core/engine_loop.hpp"
#include "core/kv_invariants.hpp"
#include "core/llm_engine.hpp"
#include "model/model_loader.hpp"
#include "spec_decode_executor.hpp"
#include "stories_executor.hpp"
#include "support/golden_cases.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace spec_decode_loop_test {

struct run_result {
    std::map<std::string, std::vector<int32_t>> tokens;
    std::map<std::string, std::vector<float>> logprobs;  // of the sampled tokens
    std::map<std::string, request_status> status;
    scheduler_stats stats;
    int64_t steps = 0;
};

run_result run_all(engine_loop& loop, std::vector<request_spec> specs) {
    for (auto& s : specs) REQUIRE(loop.add_request(std::move(s)).ok());
    run_result r;
    for (; r.steps < 20000 && loop.has_unfinished_requests(); ++r.steps) {
        for (auto& o : loop.step()) {
            REQUIRE(o.status != request_status::finished_error);
            auto& t = r.tokens[o.req_id];
            t.insert(t.end(), o.new_token_ids.begin(), o.new_token_ids.end());
            REQUIRE(o.logprobs.size() <= o.new_token_ids.size());
            for (const auto& lp : o.logprobs) r.logprobs[o.req_id].push_back(lp.logprobs[0]);
            r.status[o.req_id] = o.status;
        }
        auto inv = check_kv_invariants(loop.sched());
        REQUIRE_MESSAGE(inv.ok(), inv.message());
    }
    REQUIRE_FALSE(loop.has_unfinished_requests());
    r.stats = loop.sched().stats();
    return r;
}

speculative_config ngram(int32_t k, int32_t min_n = 1, int32_t max_n = 3) {
    speculative_config s;
    s.num_speculative_tokens = k;
    s.prompt_lookup_min = min_n;
    s.prompt_lookup_max = max_n;
    return s;
}

/// Prompts over a 50-token vocabulary: periodic ones (drafts accepted), shared ones
/// (prefix hits), a non-repeating one.
std::vector<request_spec> copy_specs(const actorlm::sampling_params& base) {
    std::vector<std::vector<int32_t>> prompts;
    for (int v = 0; v < 3; ++v) {
        std::vector<int32_t> p;
        for (int i = 0; i < 23 + 9 * v; ++i) p.push_back(3 + (i * (v + 2)) % 7 + v);
        prompts.push_back(p);
        prompts.push_back(p);  // the same prompt again: prefix hits
    }
    std::vector<int32_t> plain;
    for (int i = 0; i < 40; ++i) plain.push_back(3 + (i * 17 + i * i) % 45);
    prompts.push_back(plain);
    std::vector<request_spec> specs;
    for (size_t i = 0; i < prompts.size(); ++i) {
        request_spec s;
        s.req_id = "r" + std::to_string(i);
        s.prompt_token_ids = prompts[i];
        s.params = base;
        s.params.max_tokens = 30 + static_cast<int32_t>(i) * 7;
        if (base.seed) s.params.seed = *base.seed + i;
        s.eos_token_ids = {2};
        specs.push_back(std::move(s));
    }
    return specs;
}

/// One run over a fresh copy executor.
run_result run_copy(const scheduler_config& cfg, const actorlm::sampling_params& params) {
    actorlm::test::copy_hash_executor exec(cfg.num_blocks, cfg.block_size, 50, 7);
    auto loop = engine_loop::create(cfg, exec, 11);
    REQUIRE_MESSAGE(loop.ok(), (loop.ok() ? "" : loop.message()));
    return run_all(**loop, copy_specs(params));
}

run_result run_stories(const scheduler_config& cfg, const std::vector<std::vector<int32_t>>& prompts,
                       const std::vector<int32_t>& max_tokens) {
    auto ex = actorlm::test::make_stories_executor(cfg.num_blocks);
    auto loop = engine_loop::create(cfg, *ex);
    REQUIRE(loop.ok());
    std::vector<request_spec> specs;
    for (size_t i = 0; i < prompts.size(); ++i) {
        request_spec s;
        s.req_id = std::to_string(i);
        s.prompt_token_ids = prompts[i];
        s.params.temperature = 0.0f;
        s.params.max_tokens = max_tokens[i];
        s.params.stop_token_ids = {1};
        s.eos_token_ids = {2};
        specs.push_back(std::move(s));
    }
    return run_all(**loop, std::move(specs));
}

void message_acceptance(const char* what, const run_result& r) {
    const auto& sd = r.stats.spec_decode;
    MESSAGE(std::string(what) << ": " << r.steps << " steps, " << sd.num_accepted_tokens << " of "
                 << sd.num_draft_tokens << " drafts accepted in " << sd.num_drafts
                 << " verifications, " << r.stats.num_preemptions << " preemptions, "
                 << r.stats.prefix_cache.hits << " prefix-hit tokens");
}

}  // namespace spec_decode_loop_test

using namespace spec_decode_loop_test;

TEST_CASE("spec_decode: greedy output equals non-speculative decoding through the paged cache") {
    actorlm::sampling_params greedy;
    greedy.temperature = 0.0f;
    for (int pressure = 0; pressure < 2; ++pressure) {
        CAPTURE(pressure);
        scheduler_config cfg;
        cfg.block_size = 4;
        cfg.max_model_len = 128;
        // Low pressure: room for everything. High: 40 blocks of 4 tokens for 7 requests of
        // up to 115 tokens, 24-token steps: preemption and chunked prefill.
        cfg.num_blocks = pressure ? 40 : 400;
        cfg.max_num_batched_tokens = pressure ? 24 : 512;
        const run_result plain = run_copy(cfg, greedy);
        for (int32_t k : {1, 3, 6}) {
            CAPTURE(k);
            cfg.speculative = ngram(k);
            const run_result spec = run_copy(cfg, greedy);
            CHECK(spec.tokens == plain.tokens);
            CHECK(spec.status == plain.status);
            const auto& sd = spec.stats.spec_decode;
            CHECK(sd.num_accepted_tokens > 0);
            CHECK(sd.num_accepted_tokens < sd.num_draft_tokens);  // rejections happened too
            CHECK(spec.steps < plain.steps);
            CHECK(sd.num_accepted_tokens_per_pos.size() == static_cast<size_t>(k));
            CHECK(sd.num_accepted_tokens_per_pos[0] >= sd.num_accepted_tokens_per_pos.back());
            CHECK(spec.stats.num_generation_tokens == plain.stats.num_generation_tokens);
            if (pressure) CHECK(spec.stats.num_preemptions > 0);
            CHECK(spec.stats.prefix_cache.hits > 0);
            message_acceptance(pressure ? "copy executor, small pool" : "copy executor", spec);
        }
        cfg.speculative = {};
    }
}

TEST_CASE("spec_decode: seeded sampling with penalties and logprobs equals non-speculative") {
    actorlm::sampling_params p;
    p.temperature = 1.0f;
    p.seed = 1234;
    p.top_k = 20;
    p.top_p = 0.95f;
    p.min_p = 0.02f;
    p.repetition_penalty = 1.1f;
    p.frequency_penalty = 0.2f;
    p.presence_penalty = 0.1f;
    p.logit_bias = {{9, 0.5f}};
    p.min_tokens = 5;
    p.logprobs = 2;
    scheduler_config cfg;
    cfg.block_size = 4;
    cfg.max_model_len = 128;
    cfg.num_blocks = 60;
    cfg.max_num_batched_tokens = 32;
    const run_result plain = run_copy(cfg, p);
    cfg.speculative = ngram(4);
    const run_result spec = run_copy(cfg, p);
    CHECK(spec.tokens == plain.tokens);
    CHECK(spec.logprobs == plain.logprobs);
    for (const auto& [id, lps] : spec.logprobs) CHECK(lps.size() == spec.tokens.at(id).size());
    CHECK(spec.stats.spec_decode.num_accepted_tokens > 0);
    message_acceptance("copy executor, seeded sampling", spec);
}

TEST_CASE("spec_decode: stories260K greedy equals the golden ids with drafts, also preempted") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const auto cases =
        actorlm::test::read_golden(actorlm::test::shared_path("models/stories260K.golden.json"));
    REQUIRE(cases.size() == 4);
    std::vector<std::vector<int32_t>> prompts;
    std::vector<int32_t> max_tokens;
    for (int twice = 0; twice < 2; ++twice)
        for (const auto& c : cases) {
            prompts.push_back(c.prompt_ids);
            max_tokens.push_back(static_cast<int32_t>(c.greedy_ids.size()));
        }
    scheduler_config cfg;
    cfg.num_blocks = 64;
    cfg.max_model_len = 512;
    cfg.speculative = ngram(4, 1, 4);
    auto r = run_stories(cfg, prompts, max_tokens);
    for (size_t i = 0; i < prompts.size(); ++i)
        CHECK(r.tokens[std::to_string(i)] == cases[i % cases.size()].greedy_ids);
    CHECK(r.stats.spec_decode.num_accepted_tokens > 0);
    message_acceptance("stories260K golden", r);
    // 20 blocks for 8 requests, 16-token steps: preemption, prefix hits, chunked prefill.
    cfg.num_blocks = 20;
    cfg.max_model_len = 320;
    cfg.max_num_batched_tokens = 16;
    cfg.long_prefill_token_threshold = 8;
    r = run_stories(cfg, prompts, max_tokens);
    for (size_t i = 0; i < prompts.size(); ++i)
        CHECK(r.tokens[std::to_string(i)] == cases[i % cases.size()].greedy_ids);
    CHECK(r.stats.num_preemptions > 0);
    CHECK(r.stats.prefix_cache.hits > 0);
    message_acceptance("stories260K golden, small pool", r);
}

TEST_CASE("spec_decode: stories260K on self-repeating text accepts drafts and matches plain") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    auto tok = load_tokenizer_for_model(actorlm::test::shared_path("models/stories260K-hf"));
    REQUIRE(tok.ok());
    const std::string sentence = "Lily and Tom went to the park. They played with a red ball. ";
    const std::vector<int32_t> ids = (*tok)->encode(sentence + sentence + sentence, true, true);
    scheduler_config cfg;
    cfg.num_blocks = 64;
    cfg.max_model_len = 512;
    const std::vector<std::vector<int32_t>> prompts = {ids};
    const run_result plain = run_stories(cfg, prompts, {120});
    cfg.speculative = ngram(5, 2, 5);
    const run_result spec = run_stories(cfg, prompts, {120});
    CHECK(spec.tokens == plain.tokens);
    const auto& sd = spec.stats.spec_decode;
    CHECK(sd.num_accepted_tokens > 0);
    CHECK(spec.steps < plain.steps);
    message_acceptance("stories260K repeating", spec);
}

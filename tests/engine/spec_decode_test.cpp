// Speculative decoding pieces on their own: --speculative-config parsing (errors
// name the field), the n-gram proposer (against a brute-force search), the
// scheduler's draft scheduling and rollback in scripted steps (KV invariants after
// every one), and the rejection sampler's output distribution (chi-square), with a
// deliberately wrong acceptance rule shown to fail the same test.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <random>

#include "core/logits_processors.hpp"
#include "core/ngram_proposer.hpp"
#include "core/rejection_sampler.hpp"
#include "core/speculative_config.hpp"
#include "scheduler_factories.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace spec_decode_test {

std::string parse_error(const std::string& json) {
    auto r = parse_speculative_config(json);
    return r.ok() ? std::string() : r.message();
}

/// The proposer's contract, by brute force: the longest n in [min_n, max_n] whose
/// suffix n-gram occurs earlier; its earliest occurrence; up to k tokens after it.
std::vector<int32_t> naive_propose(const std::vector<int32_t>& t, int32_t min_n, int32_t max_n,
                                   int32_t k) {
    const auto len = static_cast<int32_t>(t.size());
    for (int32_t n = std::min(max_n, len - 1); n >= min_n; --n) {
        for (int32_t j = 0; j + n < len; ++j) {  // occurrence [j, j + n), not the suffix itself
            bool same = true;
            for (int32_t q = 0; q < n && same; ++q)
                same = t[static_cast<size_t>(j + q)] == t[static_cast<size_t>(len - n + q)];
            if (!same) continue;
            const int32_t start = j + n;
            const int32_t end = std::min(start + k, len);
            return std::vector<int32_t>(t.begin() + start, t.begin() + end);
        }
    }
    return {};
}

scheduler_config spec_config(int32_t num_blocks, int32_t k, int32_t block_size = 4) {
    scheduler_config c = actorlm::test::small_config(num_blocks, block_size, 64);
    c.speculative.num_speculative_tokens = k;
    c.speculative.prompt_lookup_min = 1;
    c.speculative.prompt_lookup_max = 3;
    return c;
}

/// A worker stand-in that accepts the first `accept` drafts of every request and then
/// emits `correction` (or, all of at least one draft accepted, `bonus`). Token 2 is the
/// factories' EOS: the tests keep clear of it.
model_runner_output verify_output(const scheduler_output& so, int32_t accept, int32_t correction,
                                  int32_t bonus = 99) {
    model_runner_output out;
    auto add = [&](const std::string& id, bool sample) {
        out.req_ids.push_back(id);
        auto& toks = out.sampled_token_ids.emplace_back();
        if (!sample) return;
        auto d = so.scheduled_spec_decode_tokens.find(id);
        const std::vector<int32_t> none;
        const auto& drafts = d == so.scheduled_spec_decode_tokens.end() ? none : d->second;
        const auto n = std::min(static_cast<size_t>(accept), drafts.size());
        toks.assign(drafts.begin(), drafts.begin() + static_cast<std::ptrdiff_t>(n));
        toks.push_back(!drafts.empty() && n == drafts.size() ? bonus : correction);
    };
    for (const auto& r : so.scheduled_cached_reqs) add(r.req_id, r.will_sample);
    for (const auto& r : so.scheduled_new_reqs) add(r.req_id, r.will_sample);
    return out;
}

void require_invariants(const scheduler& s) {
    auto inv = check_kv_invariants(s);
    REQUIRE_MESSAGE(inv.ok(), inv.message());
}

/// Counts of the first emitted token over `draws` verifications of draft `x`.
std::vector<int64_t> first_token_counts(
    const std::function<int32_t(std::span<float>, int32_t)>& verify, std::vector<float> logits,
    int32_t x, int draws) {
    std::vector<int64_t> counts(logits.size(), 0);
    std::vector<float> row(logits.size());
    for (int i = 0; i < draws; ++i) {
        row = logits;
        ++counts[static_cast<size_t>(verify(row, x))];
    }
    return counts;
}

/// Pearson's chi-square statistic of `counts` against probabilities `p`.
double chi_square(const std::vector<int64_t>& counts, const std::vector<double>& p) {
    double n = 0.0, chi = 0.0;
    for (int64_t c : counts) n += static_cast<double>(c);
    for (size_t i = 0; i < counts.size(); ++i) {
        if (p[i] <= 0.0) {
            if (counts[i] != 0) return INFINITY;
            continue;
        }
        const double e = n * p[i];
        chi += (static_cast<double>(counts[i]) - e) * (static_cast<double>(counts[i]) - e) / e;
    }
    return chi;
}

std::vector<double> softmax_of(std::vector<float> l) {
    float mx = -INFINITY;
    for (float v : l) mx = std::max(mx, v);
    std::vector<double> p(l.size());
    double sum = 0.0;
    for (size_t i = 0; i < l.size(); ++i) sum += (p[i] = std::exp(double(l[i]) - double(mx)));
    for (double& v : p) v /= sum;
    return p;
}

}  // namespace spec_decode_test

using namespace spec_decode_test;

TEST_CASE("spec_decode: speculative_config parses vLLM's keys and names the bad field") {
    auto c = parse_speculative_config(
        R"({"method":"ngram","num_speculative_tokens":4,"prompt_lookup_max":5,"prompt_lookup_min":2})");
    REQUIRE(c.ok());
    CHECK(c->num_speculative_tokens == 4);
    CHECK(c->prompt_lookup_min == 2);
    CHECK(c->prompt_lookup_max == 5);
    CHECK(c->enabled());
    // vLLM's defaults: neither bound -> 5 and 5; one bound -> both equal it.
    c = parse_speculative_config(R"({"method":"ngram","num_speculative_tokens":3})");
    REQUIRE(c.ok());
    CHECK((c->prompt_lookup_min == 5 && c->prompt_lookup_max == 5));
    c = parse_speculative_config(
        R"({"method":"ngram","num_speculative_tokens":3,"prompt_lookup_max":2})");
    REQUIRE(c.ok());
    CHECK((c->prompt_lookup_min == 2 && c->prompt_lookup_max == 2));

    CHECK(parse_error("{").find("not valid JSON") != std::string::npos);
    CHECK(parse_error("[1]").find("JSON object") != std::string::npos);
    CHECK(parse_error(R"({"num_speculative_tokens":3})").find("'method'") != std::string::npos);
    CHECK(parse_error(R"({"method":"eagle","num_speculative_tokens":3})").find("'method'") !=
          std::string::npos);
    CHECK(parse_error(R"({"method":"ngram"})").find("'num_speculative_tokens'") !=
          std::string::npos);
    CHECK(parse_error(R"({"method":"ngram","num_speculative_tokens":0})")
              .find("'num_speculative_tokens' must be in 1..128") != std::string::npos);
    CHECK(parse_error(R"({"method":"ngram","num_speculative_tokens":"4"})")
              .find("'num_speculative_tokens' must be an integer") != std::string::npos);
    CHECK(parse_error(
              R"({"method":"ngram","num_speculative_tokens":2,"prompt_lookup_min":4,"prompt_lookup_max":3})")
              .find("'prompt_lookup_min' (4) must be <= 'prompt_lookup_max' (3)") !=
          std::string::npos);
    CHECK(parse_error(R"({"method":"ngram","num_speculative_tokens":2,"prompt_lookup_min":0})")
              .find("'prompt_lookup_min'") != std::string::npos);
    CHECK(parse_error(R"({"method":"ngram","num_speculative_tokens":2,"model":"x"})")
              .find("unknown key 'model'") != std::string::npos);
}

TEST_CASE("spec_decode: the n-gram proposer finds the longest earlier suffix match") {
    ngram_proposer p(2, 3);
    // Suffix [1 2 3] occurred at 0: propose what followed it.
    CHECK(p.propose(std::vector<int32_t>{1, 2, 3, 4, 5, 1, 2, 3}, 2) == std::vector<int32_t>{4, 5});
    // The longest match wins over a later shorter one: [2 3] alone occurs at 4 too.
    CHECK(p.propose(std::vector<int32_t>{1, 2, 3, 9, 2, 3, 8, 1, 2, 3}, 1) ==
          std::vector<int32_t>{9});
    // Of equally long matches the earliest occurrence wins (vLLM).
    CHECK(p.propose(std::vector<int32_t>{5, 6, 7, 5, 6, 8, 5, 6}, 1) == std::vector<int32_t>{7});
    // Never past the end of the history; a periodic history runs into its own suffix.
    CHECK(p.propose(std::vector<int32_t>{4, 5, 4, 5}, 5) == std::vector<int32_t>{4, 5});
    // No suffix of at least min_n tokens occurred before, k = 0, too short.
    CHECK(p.propose(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, 3).empty());
    CHECK(p.propose(std::vector<int32_t>{1, 2, 1, 2}, 0).empty());
    CHECK(p.propose(std::vector<int32_t>{1, 1}, 3).empty());
    // Matches are capped at max_n: a long repeat proposes like a max_n-gram match.
    ngram_proposer one(1, 1);
    CHECK(one.propose(std::vector<int32_t>{3, 8, 3, 9, 3}, 2) == std::vector<int32_t>{8, 3});

    // Against the brute-force contract on random histories over small alphabets.
    std::mt19937 rng(5);
    for (int trial = 0; trial < 3000; ++trial) {
        const int32_t alphabet = 2 + static_cast<int32_t>(rng() % 4);
        const int32_t len = 1 + static_cast<int32_t>(rng() % 40);
        const int32_t min_n = 1 + static_cast<int32_t>(rng() % 3);
        const int32_t max_n = min_n + static_cast<int32_t>(rng() % 4);
        const int32_t k = static_cast<int32_t>(rng() % 6);
        std::vector<int32_t> t(static_cast<size_t>(len));
        for (auto& x : t) x = static_cast<int32_t>(rng() % static_cast<uint32_t>(alphabet));
        ngram_proposer q(min_n, max_n);
        const auto got = q.propose(t, k);
        const auto want = naive_propose(t, min_n, max_n, k);
        REQUIRE_MESSAGE(got == want, "trial " << trial << " len " << len << " n " << min_n << ".."
                                              << max_n << " k " << k);
    }
}

TEST_CASE("spec_decode: drafts are scheduled as extra decode tokens and rolled back when rejected") {
    // Block size 4; prompt 3 4 5 3 4.
    auto s = actorlm::test::make_scheduler(spec_config(32, 3));
    REQUIRE(s->add_request(actorlm::test::make_spec("a", {3, 4, 5, 3, 4}, 30)).ok());
    auto so = s->schedule();  // prefill
    CHECK(so.scheduled_spec_decode_tokens.empty());
    auto outs = s->update_from_output(so, verify_output(so, 0, 5));  // samples 5
    require_invariants(*s);
    // History 3 4 5 3 4 5: suffix "3 4 5" occurred at 0: drafts "3 4 5".
    so = s->schedule();
    REQUIRE(so.scheduled_spec_decode_tokens.count("a") == 1);
    CHECK(so.scheduled_spec_decode_tokens["a"] == std::vector<int32_t>{3, 4, 5});
    REQUIRE(so.scheduled_cached_reqs.size() == 1);
    const auto& c = so.scheduled_cached_reqs[0];
    CHECK(c.num_scheduled_tokens == 4);
    CHECK(c.num_computed_tokens == 5);
    CHECK(c.new_token_ids == std::vector<int32_t>{5, 3, 4, 5});
    CHECK(c.will_sample);
    CHECK(so.total_num_scheduled_tokens == 4);
    require_invariants(*s);
    // Hashes cover only the request's 6 tokens (1 full block of 4), never drafts.
    CHECK(s->find("a")->block_hashes().size() == 1);
    // Accept one draft, then the target says 4: two tokens, two drafts rolled back.
    outs = s->update_from_output(so, verify_output(so, 1, 4));
    require_invariants(*s);
    REQUIRE(outs.size() == 1);
    CHECK(outs[0].new_token_ids == std::vector<int32_t>{3, 4});
    const request* r = s->find("a");
    CHECK(r->num_tokens() == 8);
    CHECK(r->num_computed_tokens == 7);  // 5 + 4 scheduled - 2 rejected
    CHECK(r->block_hashes().size() == 2);
    auto st = s->stats().spec_decode;
    CHECK(st.num_drafts == 1);
    CHECK(st.num_draft_tokens == 3);
    CHECK(st.num_accepted_tokens == 1);
    CHECK(st.num_accepted_tokens_per_pos == std::vector<int64_t>{1, 0, 0});
    // Next step starts at the correction token (position 7) with new drafts: history
    // 3 4 5 3 4 5 3 4, suffix "5 3 4" first seen at 2.
    so = s->schedule();
    REQUIRE(so.scheduled_cached_reqs.size() == 1);
    CHECK(so.scheduled_cached_reqs[0].num_computed_tokens == 7);
    CHECK(so.scheduled_cached_reqs[0].new_token_ids.front() == 4);
    CHECK(so.scheduled_spec_decode_tokens["a"] == std::vector<int32_t>{5, 3, 4});
    // All accepted: drafts + the bonus token.
    const auto drafts = so.scheduled_spec_decode_tokens["a"];
    outs = s->update_from_output(so, verify_output(so, 99, 0, 42));
    require_invariants(*s);
    auto want = drafts;
    want.push_back(42);
    CHECK(outs[0].new_token_ids == want);
    CHECK(s->find("a")->num_computed_tokens == s->find("a")->num_tokens() - 1);
}

TEST_CASE("spec_decode: drafts respect max_tokens, max_model_len, the budget and the opt-out") {
    // max_tokens 4: after the first token 3 remain, so at most 2 drafts.
    auto s = actorlm::test::make_scheduler(spec_config(32, 5));
    REQUIRE(s->add_request(actorlm::test::make_spec("a", {3, 4, 3, 4, 3, 4}, 4)).ok());
    auto so = s->schedule();
    s->update_from_output(so, verify_output(so, 0, 3));
    so = s->schedule();
    CHECK(so.scheduled_spec_decode_tokens["a"].size() == 2);
    auto outs = s->update_from_output(so, verify_output(so, 99, 0, 9));
    REQUIRE(outs.size() == 1);
    CHECK(outs[0].new_token_ids.size() == 3);
    CHECK(outs[0].status == request_status::finished_length_capped);
    require_invariants(*s);
    CHECK_FALSE(s->has_unfinished_requests());

    // A stop token among accepted drafts ends the request there: nothing after it.
    s = actorlm::test::make_scheduler(spec_config(32, 4));
    auto spec = actorlm::test::make_spec("b", {3, 4, 6, 3, 4}, 20);
    spec.params.stop_token_ids = {3};
    REQUIRE(s->add_request(std::move(spec)).ok());
    so = s->schedule();
    s->update_from_output(so, verify_output(so, 0, 6));  // history 3 4 6 3 4 6 -> drafts 3 4 6
    so = s->schedule();
    REQUIRE(so.scheduled_spec_decode_tokens["b"] == std::vector<int32_t>{3, 4, 6});
    outs = s->update_from_output(so, verify_output(so, 99, 0, 9));
    REQUIRE(outs.size() == 1);
    CHECK(outs[0].new_token_ids == std::vector<int32_t>{3});
    CHECK(outs[0].status == request_status::finished_stopped);
    require_invariants(*s);

    // max_model_len 12: with 10 tokens known one more position can be drafted at most.
    auto cfg = spec_config(32, 5);
    cfg.max_model_len = 12;
    s = actorlm::test::make_scheduler(cfg);
    REQUIRE(s->add_request(actorlm::test::make_spec("c", {3, 4, 5, 3, 4, 5, 3, 4, 5}, 50)).ok());
    so = s->schedule();
    s->update_from_output(so, verify_output(so, 0, 3));
    so = s->schedule();
    CHECK(so.scheduled_spec_decode_tokens["c"].size() == 1);
    outs = s->update_from_output(so, verify_output(so, 99, 0, 9));
    CHECK(outs[0].status == request_status::finished_length_capped);
    CHECK(s->find("c") == nullptr);
    require_invariants(*s);

    // A budget of 3 tokens cuts the drafts (never the token before them).
    cfg = spec_config(32, 5);
    cfg.max_num_batched_tokens = 3;
    s = actorlm::test::make_scheduler(cfg);
    REQUIRE(s->add_request(actorlm::test::make_spec("d", {3, 4, 5, 6, 3, 4, 5}, 50)).ok());
    for (int i = 0; i < 3; ++i) {  // chunked prefill, 3 tokens a step; then samples 6
        so = s->schedule();
        s->update_from_output(so, verify_output(so, 0, 6));
    }
    REQUIRE(s->find("d")->num_output_tokens() == 1);
    so = s->schedule();  // history 3 4 5 6 3 4 5 6: 4 drafts proposed, 2 fit
    CHECK(so.scheduled_spec_decode_tokens["d"].size() == 2);
    CHECK(so.total_num_scheduled_tokens == 3);
    s->update_from_output(so, verify_output(so, 0, 8));
    require_invariants(*s);

    // Opted out: plain decode steps.
    s = actorlm::test::make_scheduler(spec_config(32, 5));
    spec = actorlm::test::make_spec("e", {3, 4, 3, 4}, 10);
    spec.params.speculative_decoding = false;
    REQUIRE(s->add_request(std::move(spec)).ok());
    for (int i = 0; i < 4; ++i) {
        so = s->schedule();
        CHECK(so.scheduled_spec_decode_tokens.empty());
        CHECK(so.total_num_scheduled_tokens == (i == 0 ? 4 : 1));
        s->update_from_output(so, verify_output(so, 0, 3));
    }
    CHECK(s->stats().spec_decode.num_drafts == 0);

    // A structured-output request has a grammar mask for the next position only: no drafts.
    s = actorlm::test::make_scheduler(spec_config(32, 5));
    spec = actorlm::test::make_spec("f", {3, 4, 3, 4}, 10);
    spec.params.structured_output.type = actorlm::structured_output_params::kind::regex;
    spec.params.structured_output.spec = "[a-z]+";
    REQUIRE(s->add_request(std::move(spec)).ok());
    for (int i = 0; i < 4; ++i) {
        so = s->schedule();
        CHECK(so.scheduled_spec_decode_tokens.empty());
        s->update_from_output(so, verify_output(so, 0, 3));
    }
    CHECK(s->stats().spec_decode.num_drafts == 0);
}

TEST_CASE("spec_decode: preemption drops the drafts and prefix hits cover only accepted tokens") {
    // 6 blocks of 4 = 24 slots; two requests whose drafts need room: one is preempted.
    auto cfg = spec_config(6, 4);
    cfg.max_model_len = 24;
    auto s = actorlm::test::make_scheduler(cfg);
    REQUIRE(s->add_request(actorlm::test::make_spec("a", {3, 4, 1, 3, 4, 1, 3, 4}, 14)).ok());
    REQUIRE(s->add_request(actorlm::test::make_spec("b", {5, 6, 7, 5, 6, 7, 5, 6}, 14)).ok());
    int64_t preemptions = 0;
    for (int i = 0; i < 60 && s->has_unfinished_requests(); ++i) {
        auto so = s->schedule();
        require_invariants(*s);
        preemptions += static_cast<int64_t>(so.preempted_req_ids.size());
        for (const auto& id : so.preempted_req_ids)
            CHECK(so.scheduled_spec_decode_tokens.count(id) == 0);
        // Every cached block's hash names accepted tokens only: the hashes a request has
        // never outnumber its full blocks of real tokens.
        for (const request* r : s->running())
            CHECK(static_cast<int32_t>(r->block_hashes().size()) == r->num_tokens() / 4);
        s->update_from_output(so, verify_output(so, i % 3, 3, 1));
        require_invariants(*s);
    }
    CHECK_FALSE(s->has_unfinished_requests());
    CHECK(preemptions > 0);
    CHECK(s->stats().spec_decode.num_accepted_tokens > 0);
}

TEST_CASE("spec_decode: the rejection sampler follows the target distribution (chi-square)") {
    // A small vocabulary; drafts of high and of low target probability.
    const std::vector<float> logits = {1.2f, 0.1f, -0.5f, 2.0f, 0.7f, -1.5f};
    const int draws = 40000;
    // chi-square with 5 degrees of freedom: P(X > 25.7) ~ 1e-4.
    const double critical = 25.7;
    actorlm::sampling_params p;
    p.temperature = 1.0f;
    const std::vector<int32_t> no_tokens;

    sampler smp(123);
    auto rejection = [&](std::span<float> row, int32_t x) {
        // One draft, two rows (the second, the bonus, is reached only on acceptance).
        std::vector<float> rows(row.begin(), row.end());
        rows.insert(rows.end(), row.begin(), row.end());
        const std::vector<int32_t> after_x = {x};
        const sampling_row srows[2] = {{&p, no_tokens, no_tokens, no_tokens},
                                       {&p, no_tokens, after_x, no_tokens}};
        const int32_t drafts[1] = {x};
        return rejection_sample(smp, rows, 6, srows, drafts)[0].token_id;
    };
    // A classic mistake: on rejection draw from p again instead of from p without x.
    std::mt19937_64 rng(321);
    std::uniform_real_distribution<double> unif(0.0, 1.0);
    auto wrong = [&](std::span<float> row, int32_t x) {
        const auto probs = softmax_of(std::vector<float>(row.begin(), row.end()));
        if (unif(rng) < probs[static_cast<size_t>(x)]) return x;
        return sample_from_logits(row, unif(rng));
    };
    const auto target = softmax_of(logits);
    for (int32_t x : {3, 5, 1}) {
        CAPTURE(x);
        const double good = chi_square(first_token_counts(rejection, logits, x, draws), target);
        const double bad = chi_square(first_token_counts(wrong, logits, x, draws), target);
        MESSAGE("draft " << x << ": chi-square " << good << " (wrong rule " << bad << ")");
        CHECK(good < critical);
        CHECK(bad > critical);
    }

    // With temperature, top-k and a penalty the target is the processed distribution.
    actorlm::sampling_params q;
    q.temperature = 0.7f;
    q.top_k = 4;
    q.logit_bias = {{5, 3.0f}};
    std::vector<float> processed = logits;
    apply_logit_bias(processed, q);
    apply_temperature(processed, q.temperature);
    apply_top_k_top_p(processed, q.top_k, q.top_p);
    const auto target_q = softmax_of(processed);
    auto rejection_q = [&](std::span<float> row, int32_t x) {
        std::vector<float> rows(row.begin(), row.end());
        rows.insert(rows.end(), row.begin(), row.end());
        const std::vector<int32_t> after_x = {x};
        const sampling_row srows[2] = {{&q, no_tokens, no_tokens, no_tokens},
                                       {&q, no_tokens, after_x, no_tokens}};
        const int32_t drafts[1] = {x};
        return rejection_sample(smp, rows, 6, srows, drafts)[0].token_id;
    };
    for (int32_t x : {0, 2}) {  // in and outside the top-k
        CAPTURE(x);
        CHECK(chi_square(first_token_counts(rejection_q, logits, x, draws), target_q) < critical);
    }

    // Acceptance happens with probability p(x); an accepted draft is followed by the bonus.
    int accepted = 0;
    for (int i = 0; i < draws; ++i) {
        std::vector<float> rows = logits;
        rows.insert(rows.end(), logits.begin(), logits.end());
        const std::vector<int32_t> after = {0};
        const sampling_row srows[2] = {{&p, no_tokens, no_tokens, no_tokens},
                                       {&p, no_tokens, after, no_tokens}};
        const int32_t drafts[1] = {0};
        auto out = rejection_sample(smp, rows, 6, srows, drafts);
        REQUIRE((out.size() == 1 || out.size() == 2));
        if (out.size() == 2) {
            CHECK(out[0].token_id == 0);
            ++accepted;
        } else {
            CHECK(out[0].token_id != 0);
        }
    }
    const double rate = accepted / double(draws);
    CHECK(std::abs(rate - target[0]) < 4.0 * std::sqrt(target[0] * (1 - target[0]) / draws));
}

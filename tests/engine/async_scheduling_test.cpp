// Async scheduling at the core (vLLM's --async-scheduling), over the real stories260K
// forward pass: step N+1 is scheduled before step N's tokens are back, so a decoding
// request's next position is a placeholder that the runner fills from the token it
// sampled itself, and a stop, an abort or a preemption found one step late throws the
// extra token away. The scheduler actor runs exactly this order with two steps in
// flight; here one thread replays it. Every request's tokens and finish status must
// equal the synchronous run's.
#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <map>

#include "core/kv_invariants.hpp"
#include "core/model_runner.hpp"
#include "core/scheduler.hpp"
#include "stories_executor.hpp"
#include "support/golden_cases.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace {

struct run_result {
    std::map<std::string, std::vector<int32_t>> tokens;
    std::map<std::string, request_status> status;
    int64_t preemptions = 0;
    int64_t prefix_hits = 0;
};

/// Called with each step's outputs (after update_from_output): may add or abort requests.
using step_hook = std::function<void(scheduler&, const std::vector<request_output>&)>;

/// Runs `specs` to the end with `depth` steps scheduled ahead of the outputs (1: the
/// synchronous loop; 2: async scheduling's order: schedule N, schedule N+1, execute N,
/// update N, schedule N+2, execute N+1, ...). Block accounting is checked every step.
run_result run(const scheduler_config& cfg, std::vector<request_spec> specs, int depth,
               const step_hook& hook = {}) {
    auto ex = actorlm::test::make_stories_executor(cfg.num_blocks);
    scheduler_config c = cfg;
    c.vocab_size = ex->config().vocab_size;
    auto sched = scheduler::create(c);
    REQUIRE(sched.ok());
    scheduler& s = **sched;
    model_runner runner(*ex, 7);
    for (auto& spec : specs) REQUIRE(s.add_request(std::move(spec)).ok());
    run_result got;
    std::deque<scheduler_output> in_flight;
    for (int step = 0; step < 5000; ++step) {
        while (static_cast<int>(in_flight.size()) < depth && s.has_unfinished_requests()) {
            scheduler_output so = s.schedule();
            if (so.empty() && so.finished_req_ids.empty()) break;
            in_flight.push_back(std::move(so));
        }
        if (in_flight.empty()) break;
        const scheduler_output so = std::move(in_flight.front());
        in_flight.pop_front();
        auto out = runner.execute(so);
        REQUIRE_MESSAGE(out.ok(), (out.ok() ? "" : out.message()));
        const auto outputs = s.update_from_output(so, *out);
        for (const auto& o : outputs) {
            auto& t = got.tokens[o.req_id];
            t.insert(t.end(), o.new_token_ids.begin(), o.new_token_ids.end());
            if (o.finished()) got.status[o.req_id] = o.status;
        }
        if (hook) hook(s, outputs);
        auto inv = check_kv_invariants(s);
        REQUIRE_MESSAGE(inv.ok(), inv.message());
    }
    REQUIRE_FALSE(s.has_unfinished_requests());
    const auto stats = s.stats();
    got.preemptions = stats.num_preemptions;
    got.prefix_hits = stats.prefix_cache.hits;
    return got;
}

void check_same(const run_result& sync, const run_result& async) {
    REQUIRE(sync.tokens.size() == async.tokens.size());
    for (const auto& [id, tokens] : sync.tokens) {
        CAPTURE(id);
        REQUIRE(async.tokens.count(id) == 1);
        CHECK(async.tokens.at(id) == tokens);
        // An aborted request has no finishing output (abort_request ends it).
        REQUIRE(async.status.count(id) == sync.status.count(id));
        if (sync.status.count(id)) CHECK(async.status.at(id) == sync.status.at(id));
    }
}

std::vector<actorlm::test::golden_case> golden() {
    return actorlm::test::read_golden(
        actorlm::test::shared_path("models/stories260K.golden.json"));
}

request_spec spec(const std::string& id, const std::vector<int32_t>& prompt, int32_t max_tokens,
                  float temperature = 0.0f) {
    request_spec s;
    s.req_id = id;
    s.prompt_token_ids = prompt;
    s.params.temperature = temperature;
    s.params.max_tokens = max_tokens;
    s.eos_token_ids = {2};
    return s;
}

scheduler_config small_config(int32_t num_blocks) {
    scheduler_config cfg;
    cfg.num_blocks = num_blocks;
    cfg.max_model_len = 512;
    return cfg;
}

}  // namespace

TEST_CASE("async scheduling: greedy and seeded outputs equal the synchronous loop's") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const auto cases = golden();
    std::vector<request_spec> specs;
    for (size_t i = 0; i < cases.size(); ++i) {
        specs.push_back(spec("greedy" + std::to_string(i), cases[i].prompt_ids,
                             static_cast<int32_t>(cases[i].greedy_ids.size())));
        auto seeded = spec("seeded" + std::to_string(i), cases[i].prompt_ids, 24, 1.0f);
        seeded.params.seed = 1000 + i;
        specs.push_back(seeded);
    }
    const run_result sync = run(small_config(64), specs, 1);
    const run_result async = run(small_config(64), specs, 2);
    check_same(sync, async);
    for (size_t i = 0; i < cases.size(); ++i)
        CHECK(async.tokens.at("greedy" + std::to_string(i)) == cases[i].greedy_ids);
}

TEST_CASE("async scheduling: a stop token or max_tokens found one step late ends the request "
          "without the extra token") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const auto c = golden().front();
    REQUIRE(c.greedy_ids.size() >= 6);
    auto stopped = spec("stopped", c.prompt_ids, 64);
    stopped.params.stop_token_ids = {c.greedy_ids[4]};
    auto capped = spec("capped", c.prompt_ids, 3);
    auto one = spec("one", c.prompt_ids, 1);
    const run_result sync = run(small_config(64), {stopped, capped, one}, 1);
    const run_result async = run(small_config(64), {stopped, capped, one}, 2);
    check_same(sync, async);
    CHECK(async.status.at("stopped") == request_status::finished_stopped);
    CHECK(async.tokens.at("capped").size() == 3);
    CHECK(async.tokens.at("one").size() == 1);
}

TEST_CASE("async scheduling: preemption with a step in flight recomputes to the same tokens") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const auto cases = golden();
    std::vector<request_spec> specs;
    for (int copy = 0; copy < 3; ++copy)
        for (size_t i = 0; i < cases.size(); ++i) {
            auto s = spec(std::to_string(copy) + "/" + std::to_string(i), cases[i].prompt_ids,
                          96, copy == 2 ? 1.0f : 0.0f);
            s.params.seed = 55 + i;
            s.params.ignore_eos = true;  // every request grows until its blocks run out
            specs.push_back(s);
        }
    // 20 blocks of 16 tokens for requests that each grow past 100 tokens.
    scheduler_config cfg = small_config(20);
    cfg.max_model_len = 256;  // the pool holds one whole sequence
    const run_result sync = run(cfg, specs, 1);
    const run_result async = run(cfg, specs, 2);
    CHECK(sync.preemptions > 0);
    CHECK(async.preemptions > 0);
    check_same(sync, async);
}

TEST_CASE("async scheduling: an abort with a step in flight drops that step's token, and later "
          "requests hit the prefix cache") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const auto cases = golden();
    std::vector<int32_t> long_prompt;  // filled below, before the hook runs
    // "aborted" is aborted after its 5th token; when "first" ends, its prompt comes again
    // as "again", which must be served from the prefix cache with the same tokens.
    auto hook = [&](scheduler& s, const std::vector<request_output>& outputs) {
        for (const auto& o : outputs) {
            if (o.req_id == "aborted" && !o.finished() && o.num_output_tokens >= 5)
                s.abort_request("aborted");
            if (o.req_id == "first" && o.finished())
                REQUIRE(s.add_request(spec("again", long_prompt, 12)).ok());
        }
    };
    // Longer than two blocks, so that whole blocks are cached.
    for (int copy = 0; copy < 2; ++copy)
        for (const auto& c : cases)
            long_prompt.insert(long_prompt.end(), c.prompt_ids.begin(), c.prompt_ids.end());
    REQUIRE(long_prompt.size() > 32);
    std::vector<request_spec> specs = {spec("aborted", cases[1].prompt_ids, 64),
                                       spec("first", long_prompt, 12)};
    const run_result sync = run(small_config(64), specs, 1, hook);
    const run_result async = run(small_config(64), specs, 2, hook);
    check_same(sync, async);
    CHECK(async.tokens.at("aborted").size() == 5);
    CHECK(async.tokens.at("again") == async.tokens.at("first"));
    CHECK(async.prefix_hits > 0);
}

// Deterministic tests of the actor protocol: the real frontend, detokenizer and
// scheduler actors plus a scheduled test worker (model_runner over the paged
// hash executor) under CAF's test_coordinator (scheduler.policy='testing': no
// threads; the test decides which actor runs next). Each race is forced by
// running some actors ahead of others, and each test checks what a user sees:
// one final delta per sequence with the right finish reason, the request id
// freed, and a scheduler holding no request and no KV block afterwards.
#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/detokenizer_actor.hpp"
#include "actors/frontend_actor.hpp"
#include "actors/kv_cache_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "core/model_runner.hpp"
#include "engine/engine_loop_paged_executor.hpp"
#include "support/finish_order.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::actors;

namespace {

constexpr int32_t k_num_blocks = 64;

// -- a worker that runs on the test scheduler ---------------------------------

struct test_worker_state {
    test_worker_state() = default;  // not an aggregate: CAF probes State(self)
    std::unique_ptr<core::model_runner> runner;
    bool stall = false;  // accept steps but never answer (a worker about to die)
    int num_steps = 0;
    std::vector<caf::typed_response_promise<stage_result>> held;
    static inline const char* name = "test.worker";
};

worker_actor::behavior_type test_worker(worker_actor::stateful_pointer<test_worker_state> self,
                                        model_executor* exec, bool* stall) {
    self->state.runner = std::make_unique<core::model_runner>(*exec, 0);
    return {
        [](setup_atom, const worker_setup&) -> caf::result<worker_info> { return worker_info{}; },
        [self, stall](step_atom, const core::scheduler_output& so,
                      const std::vector<char>&) -> caf::result<stage_result> {
            auto& st = self->state;
            ++st.num_steps;
            if (*stall) {
                auto rp = self->make_response_promise<stage_result>();
                st.held.push_back(rp);
                return rp;
            }
            auto out = st.runner->execute(so);
            if (!out) return caf::make_error(engine_errc::worker_failed, out.message());
            stage_result r;
            r.output = std::move(out.value());
            return r;
        },
        [](kv_atom, kv_connector_install&) -> caf::result<bool> {
            return caf::make_error(engine_errc::bad_setup, "test worker: no KV connector");
        },
    };
}

// -- a detokenizer stand-in that only records what the frontend sends ---------

struct recorded {
    std::vector<std::string> submits;  // request ids
    std::vector<std::string> aborts;
};

detokenizer_actor::behavior_type recording_detokenizer(detokenizer_actor::pointer, recorded* log) {
    return {
        [log](submit_atom, uint64_t, submission& sub) {
            log->submits.push_back(sub.request.request_id);
        },
        [log](abort_atom, uint64_t, const std::string& id) { log->aborts.push_back(id); },
        [](migrate_atom, uint64_t, const std::string&) {},
        [](precopy_atom, const std::string&) -> caf::result<kv_transfer_params> {
            return caf::make_error(engine_errc::no_snapshot, "recording only");
        },
        [](outputs_atom, step_outputs&) {},
    };
}

// -- the fixture ----------------------------------------------------------------

/// Every delta the callbacks received, in order.
struct delta_log {
    std::vector<output_delta> deltas;
    delta_callback callback() {
        return [this](const output_delta& d) { deltas.push_back(d); };
    }
    std::vector<output_delta> finals(const std::string& id) const {
        std::vector<output_delta> out;
        for (const auto& d : deltas)
            if (d.request_id == id && d.finished()) out.push_back(d);
        return out;
    }
    std::vector<int32_t> final_order(const std::string& id) const {
        std::vector<int32_t> out;
        for (const auto& d : finals(id)) out.push_back(d.index);
        return out;
    }
    std::vector<std::vector<int32_t>> tokens(const std::string& id, int32_t n) const {
        std::vector<std::vector<int32_t>> out(static_cast<size_t>(n));
        for (const auto& d : deltas)
            if (d.request_id == id && d.index >= 0 && d.index < n)
                out[static_cast<size_t>(d.index)].insert(out[static_cast<size_t>(d.index)].end(),
                                                         d.token_ids.begin(), d.token_ids.end());
        return out;
    }
    std::string text(const std::string& id) const {
        std::string s;
        for (const auto& d : deltas)
            if (d.request_id == id) s += d.text;
        return s;
    }
};

caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
    cfg.add_message_types<caf::id_block::actorlm>();
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.console", caf::atom("none"));
    return cfg;
}

struct fixture {
    delta_log log;  // outlives the actors: the frontend reports to it when it stops
    recorded recorded_log;
    bool stall = false;
    std::unique_ptr<tokenizer> tok_owner;
    std::shared_ptr<const tokenizer> tok;
    std::unique_ptr<test::paged_hash_executor> exec;
    caf::actor_system_config cfg;
    caf::actor_system sys{testing_config(cfg)};
    caf::scheduler::test_coordinator& sched{
        dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())};
    caf::scoped_actor self{sys, true};
    worker_actor worker;
    kv_cache_actor kv;
    scheduler_actor scheduler;
    detokenizer_actor detokenizer;
    frontend_actor frontend;

    /// The whole pipeline over the stories260K tokenizer.
    void start_pipeline() {
        auto t = load_tokenizer_for_model(test::shared_path("models/stories260K-hf"));
        REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.message()));
        tok = std::shared_ptr<const tokenizer>(std::move(t).value());
        exec = std::make_unique<test::paged_hash_executor>(k_num_blocks, 16, tok->vocab_size());
        worker = sys.spawn(test_worker, exec.get(), &stall);
        scheduler_actor_config sac;
        sac.sched.num_blocks = k_num_blocks;
        sac.sched.block_size = 16;
        sac.sched.max_model_len = 512;
        sac.sched.max_num_seqs = 16;
        sac.sched.vocab_size = tok->vocab_size();
        sac.stages.push_back(worker_setup{});
        kv = spawn_kv_cache_actor(sys, k_num_blocks);
        scheduler = spawn_scheduler(sys, sac, {worker}, kv, connector_actor{},
                                    scheduler_threading::scheduled);
        detokenizer_config dc;
        dc.eos_token_ids = tok->eos_ids();
        dc.max_model_len = 512;
        detokenizer = spawn_detokenizer(sys, tok, nullptr, dc, scheduler);
        frontend = spawn_frontend(sys, detokenizer);
        sched.run();
    }

    ~fixture() {
        auto stop = [](const auto& h) {
            if (h) caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
        };
        stop(frontend);
        stop(detokenizer);
        stop(scheduler);
        stop(kv);
        stop(worker);
        sched.run();
    }

    void submit(const generate_request& r) {
        self->send(frontend, submit_atom_v, submission{r, log.callback()});
    }
    void abort(const std::string& id) { self->send(frontend, abort_atom_v, id); }

    /// Runs every job except those of `h` (which keeps its mailbox).
    template <class Handle>
    size_t run_except(const Handle& h) {
        auto* skip = dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(h));
        return sched.run_jobs_filtered([skip](caf::resumable* r) { return r != skip; });
    }

    /// What the KV-cache actor (where every state query goes) reports after all work ran.
    engine_stats stats() {
        sched.run();
        self->send(kv, stats_atom_v);
        sched.run();
        engine_stats s;
        bool got = false;
        self->receive([&](engine_stats& x) { s = std::move(x), got = true; },
                      caf::after(std::chrono::seconds(0)) >> [] {});
        REQUIRE(got);
        return s;
    }

    /// The scheduler holds no request and every KV block is free again.
    void check_nothing_leaked() {
        const engine_stats s = stats();
        CHECK(s.num_requests_running == 0);
        CHECK(s.num_requests_waiting == 0);
        CHECK(s.kv_cache_usage == doctest::Approx(0.0));
    }

    /// One final delta per sequence of `id`, all with `reason` when given.
    void check_one_final_each(const std::string& id, int32_t n,
                              std::optional<finish_reason> reason) {
        auto order = log.final_order(id);
        std::sort(order.begin(), order.end());
        std::vector<int32_t> all(static_cast<size_t>(n));
        for (int32_t k = 0; k < n; ++k) all[static_cast<size_t>(k)] = k;
        CHECK(order == all);
        if (reason)
            for (const auto& d : log.finals(id)) CHECK(d.finish == *reason);
    }

    /// After `id` ended, the same id runs again to the end (it was freed everywhere).
    void check_id_reusable(const std::string& id) {
        generate_request r;
        r.request_id = id;
        r.prompt = "The dog";
        r.params.temperature = 0.0f;
        r.params.max_tokens = 2;
        r.params.ignore_eos = true;
        const size_t before = log.finals(id).size();
        submit(r);
        sched.run();
        auto finals = log.finals(id);
        REQUIRE(finals.size() == before + 1);
        CHECK(finals.back().finish == finish_reason::length);
        CHECK(finals.back().error.empty());
    }
};

generate_request sampled(const std::string& id, int32_t n, int32_t max_tokens) {
    generate_request r;
    r.request_id = id;
    r.prompt = "Once upon a time";
    r.params.n = n;
    r.params.temperature = 1.0f;
    r.params.seed = 11;
    r.params.max_tokens = max_tokens;
    r.params.ignore_eos = true;
    return r;
}

}  // namespace

TEST_CASE_FIXTURE(fixture, "actor protocol: an abort that overtakes its submission ends it once") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    start_pipeline();
    SUBCASE("at the detokenizer") {
        // Both leave the frontend together; the abort travels with high priority
        // and reaches the detokenizer before the submission it cancels.
        submit(sampled("early", 2, 8));
        abort("early");
        sched.run();
        check_one_final_each("early", 2, finish_reason::abort);
        CHECK(log.deltas.size() == 2);            // nothing but the two final deltas
        CHECK(stats().prompt_tokens_total == 0);  // the scheduler never saw it
    }
    SUBCASE("at the scheduler") {
        // The submission waits in the scheduler's mailbox while the abort passes
        // the frontend and the detokenizer and overtakes it there.
        submit(sampled("early", 2, 8));
        run_except(scheduler);
        abort("early");
        run_except(scheduler);
        sched.run();
        check_one_final_each("early", 2, finish_reason::abort);
        CHECK(log.deltas.size() == 2);
        CHECK(stats().prompt_tokens_total == 0);
    }
    check_nothing_leaked();
    check_id_reusable("early");
}

TEST_CASE_FIXTURE(fixture,
                  "actor protocol: a worker that dies during a step fails each sequence once") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    start_pipeline();
    submit(sampled("doomed", 2, 8));
    sched.run();  // runs to the end: the worker is not stalled yet
    REQUIRE(log.finals("doomed").size() == 2);
    log.deltas.clear();
    stall = true;
    submit(sampled("doomed2", 3, 8));
    sched.run();  // until the worker has accepted a step it will never answer
    auto s = stats();
    CHECK(s.num_requests_running == 3);
    caf::anon_send_exit(worker, caf::exit_reason::kill);
    sched.run();
    check_one_final_each("doomed2", 3, finish_reason::error);
    for (const auto& d : log.finals("doomed2")) CHECK(d.error.find("lost") != std::string::npos);
    s = stats();
    CHECK_FALSE(s.healthy);
    CHECK(s.num_requests_running == 0);
    CHECK(s.num_requests_waiting == 0);
    CHECK(s.kv_cache_usage == doctest::Approx(0.0));
    // The frontend freed the id: a new submission is refused for the engine's
    // health, not because the id is still in use.
    submit(sampled("doomed2", 1, 2));
    sched.run();
    auto finals = log.finals("doomed2");
    REQUIRE(finals.size() == 4);
    CHECK(finals.back().error.find("unhealthy") != std::string::npos);
}

TEST_CASE_FIXTURE(fixture,
                  "actor protocol: a stop string that arrives after the request finished") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    start_pipeline();
    const int32_t max_tokens = 10;
    generate_request probe;
    probe.request_id = "probe";
    probe.prompt = "Once upon a time";
    probe.params.temperature = 0.0f;
    probe.params.max_tokens = max_tokens;
    probe.params.ignore_eos = true;
    submit(probe);
    sched.run();
    // A stop string made of one early token's text, first seen in that token.
    std::string full, stop;
    for (const auto& d : log.deltas) {
        const size_t at = full.size();
        full += d.text;
        std::string piece = d.text;
        piece.erase(0, piece.find_first_not_of(' '));
        if (stop.empty() && d.num_output_tokens >= 2 && d.num_output_tokens <= 6 &&
            piece.size() >= 2 && full.find(piece) >= at)
            stop = piece;
    }
    REQUIRE_FALSE(stop.empty());
    log.deltas.clear();
    const int64_t tokens_before = stats().generation_tokens_total;

    generate_request r = probe;
    r.request_id = "late";
    r.params.stop = {stop};
    submit(r);
    run_except(scheduler);    // the submission reaches the scheduler
    run_except(detokenizer);  // the scheduler runs to max_tokens before any text is read
    sched.run();              // now the stop string is found and reported too late
    auto finals = log.finals("late");
    REQUIRE(finals.size() == 1);
    CHECK(finals[0].finish == finish_reason::stop);
    CHECK(finals[0].stop_reason == stop);
    CHECK(log.text("late") == full.substr(0, full.find(stop)));
    // The scheduler had finished it by length: all max_tokens tokens were generated.
    CHECK(stats().generation_tokens_total - tokens_before == max_tokens);
    check_nothing_leaked();
    check_id_reusable("late");
}

TEST_CASE_FIXTURE(fixture, "actor protocol: n > 1 children finishing in reverse order") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf");
    start_pipeline();
    submit(sampled("probe", 3, 24));
    sched.run();
    const auto seqs = log.tokens("probe", 3);
    for (const auto& s : seqs) REQUIRE(s.size() == 24);
    for (const std::vector<int32_t>& order :
         {std::vector<int32_t>{2, 1, 0}, std::vector<int32_t>{1, 0, 2}}) {
        CAPTURE(order[0]);
        const auto stops = test::stop_tokens_for_order(seqs, order);
        REQUIRE_FALSE(stops.empty());
        log.deltas.clear();
        auto r = sampled("rev", 3, 24);
        r.params.stop_token_ids = stops;
        submit(r);
        sched.run();
        CHECK(log.final_order("rev") == order);
        check_one_final_each("rev", 3, std::nullopt);
        for (const auto& d : log.finals("rev"))  // the last one may end by length
            CHECK((d.finish == finish_reason::stop ||
                   (d.index == order.back() && d.finish == finish_reason::length)));
        const auto got = log.tokens("rev", 3);
        for (size_t k = 0; k < 3; ++k)
            CHECK(std::equal(got[k].begin(), got[k].end(), seqs[k].begin()));
        check_nothing_leaked();
    }
    check_id_reusable("rev");
}

TEST_CASE_FIXTURE(
    fixture, "actor protocol: the frontend frees an id after its last sequence, in any order") {
    detokenizer = sys.spawn(recording_detokenizer, &recorded_log);
    frontend = spawn_frontend(sys, detokenizer);
    sched.run();
    generate_request r;
    r.request_id = "x";
    r.params.n = 3;
    submit(r);
    sched.run();
    REQUIRE(recorded_log.submits.size() == 1);
    auto delta = [](int32_t index, finish_reason f) {
        output_delta d;
        d.request_id = "x";
        d.index = index;
        d.finish = f;
        return d;
    };
    auto outputs = [&](std::vector<output_delta> ds) {
        self->send(frontend, outputs_atom_v, delta_batch{std::move(ds)});
        sched.run();
    };
    outputs({delta(2, finish_reason::length), delta(0, finish_reason::none)});
    // A late duplicate of sequence 2's final delta must not count as another sequence.
    outputs({delta(2, finish_reason::stop), delta(1, finish_reason::stop)});
    submit(r);  // sequence 0 still runs: the id is in use
    sched.run();
    CHECK(recorded_log.submits.size() == 1);
    REQUIRE_FALSE(log.deltas.empty());
    CHECK(log.deltas.back().error_kind == error_kind::invalid_argument);
    CHECK(log.deltas.back().error.find("already in use") != std::string::npos);
    abort("x");
    sched.run();
    CHECK(recorded_log.aborts == std::vector<std::string>{"x"});
    outputs({delta(0, finish_reason::abort)});
    std::vector<int32_t> order;
    for (const auto& d : log.finals("x"))
        if (d.error_kind != error_kind::invalid_argument) order.push_back(d.index);
    CHECK(order == std::vector<int32_t>{2, 1, 0});
    submit(r);  // every sequence ended: the id is free
    sched.run();
    CHECK(recorded_log.submits.size() == 2);

    SUBCASE("an engine that stops ends only the sequences still running") {
        outputs({delta(1, finish_reason::length)});
        log.deltas.clear();
        caf::anon_send_exit(frontend, caf::exit_reason::user_shutdown);
        sched.run();
        std::vector<int32_t> ended;
        for (const auto& d : log.deltas) {
            CHECK(d.finish == finish_reason::error);
            ended.push_back(d.index);
        }
        CHECK(ended == std::vector<int32_t>{0, 2});
    }
}

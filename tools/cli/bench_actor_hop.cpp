// `actorlm bench-actor-hop`: what the actor runtime adds to each engine step.
// With a no-op model it times (a) the engine-core loop alone (engine_loop:
// schedule, runner, sampler, update), (b) the same step through the scheduler
// actor and an in-process worker actor, and (c) through a worker in another
// process on loopback — at each requested number of running requests. JSON out.
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "json_output.hpp"

#include "actors/interfaces.hpp"
#include "actors/runtime_config.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/worker_actor.hpp"
#include "core/engine_loop.hpp"
#include "model/noop_executor.hpp"

namespace bench_actor_hop_command {

struct options {
    std::vector<int32_t> running{1, 256};
    int32_t steps = 500;
    int32_t warmup = 50;
    bool remote = true;
};

using namespace actorlm;
using namespace actorlm::actors;
using clock_type = std::chrono::steady_clock;

constexpr int64_t k_vocab = 512;
constexpr int32_t k_prompt_len = 8;

core::scheduler_config bench_scheduler_config(int32_t running) {
    core::scheduler_config sc;
    sc.block_size = 16;
    sc.max_model_len = 4096;
    sc.max_num_seqs = running;
    sc.max_num_batched_tokens = std::max(2048, running * k_prompt_len);
    sc.num_blocks = running * (4096 / 16) + 1;
    sc.vocab_size = k_vocab;
    return sc;
}

std::vector<core::request_spec> bench_requests(int32_t running, int32_t max_tokens) {
    std::vector<core::request_spec> specs;
    for (int32_t i = 0; i < running; ++i) {
        core::request_spec s;
        s.req_id = "bench-" + std::to_string(i);
        for (int32_t t = 0; t < k_prompt_len; ++t) s.prompt_token_ids.push_back(1 + (i + t) % 500);
        s.params.temperature = 0.0f;
        s.params.max_tokens = max_tokens;
        s.params.ignore_eos = true;
        specs.push_back(std::move(s));
    }
    return specs;
}

executor_builder noop_builder() {
    return [](const worker_setup& setup) -> result<std::unique_ptr<model_executor>> {
        kv_cache_spec spec;
        spec.num_blocks = setup.num_blocks;
        spec.block_size = setup.block_size;
        return std::unique_ptr<model_executor>(std::make_unique<noop_executor>(k_vocab, spec));
    };
}

/// (a) the engine-core loop alone, µs per step once all requests decode.
double time_core_loop(int32_t running, int32_t warmup, int32_t steps) {
    auto cfg = bench_scheduler_config(running);
    kv_cache_spec spec{cfg.num_blocks, cfg.block_size, dtype::f32};
    noop_executor exec(k_vocab, spec);
    auto loop = core::engine_loop::create(cfg, exec);
    if (!loop) return -1;
    for (auto& s : bench_requests(running, warmup + steps + 10))
        if (!(*loop)->add_request(std::move(s))) return -1;
    for (int32_t i = 0; i < warmup; ++i) (*loop)->step();
    auto t0 = clock_type::now();
    for (int32_t i = 0; i < steps; ++i) (*loop)->step();
    return std::chrono::duration<double, std::micro>(clock_type::now() - t0).count() / steps;
}

struct step_clock_state {
    step_clock_state() = default;
    int32_t seen = 0;
    int32_t warmup = 0;
    int32_t steps = 0;
    clock_type::time_point start;
    std::shared_ptr<std::promise<double>> done;
};

/// Stands in for the detokenizer: counts the scheduler's per-step outputs.
detokenizer_actor::behavior_type step_clock(
    detokenizer_actor::stateful_pointer<step_clock_state> self, scheduler_actor sched,
    sequence_specs specs, int32_t warmup, int32_t steps,
    std::shared_ptr<std::promise<double>> done) {
    self->state.warmup = warmup;
    self->state.steps = steps;
    self->state.done = std::move(done);
    // Submitting makes this actor the scheduler's output sink.
    self->send(sched, submit_atom_v, uint64_t{1}, std::move(specs));
    return {
        [](submit_atom, uint64_t, submission&) {},
        [](abort_atom, uint64_t, const std::string&) {},
        [](migrate_atom, uint64_t, const std::string&) {},
        [](precopy_atom, const std::string&) -> caf::result<kv_transfer_params> {
            return caf::make_error(engine_errc::no_snapshot, "the benchmark moves nothing");
        },
        [self](outputs_atom, step_outputs& out) {
            auto& st = self->state;
            if (out.outputs.empty()) return;
            ++st.seen;
            if (st.seen == st.warmup) st.start = clock_type::now();
            if (st.seen == st.warmup + st.steps && st.done) {
                st.done->set_value(
                    std::chrono::duration<double, std::micro>(clock_type::now() - st.start)
                        .count() /
                    st.steps);
                st.done.reset();
            }
        },
    };
}

/// (b)/(c) one step through the scheduler actor and `worker`, µs per step.
double time_actor_steps(caf::actor_system& sys, worker_actor worker, int32_t running,
                        int32_t warmup, int32_t steps) {
    scheduler_actor_config sac;
    sac.sched = bench_scheduler_config(running);
    worker_setup setup;
    setup.num_blocks = sac.sched.num_blocks;
    setup.block_size = sac.sched.block_size;
    setup.last_layer = 1;
    sac.stages = {setup};
    if (!setup_workers(sys, {worker}, sac.stages, std::chrono::seconds(10)).empty()) return -1;
    // As engine_runtime does: a private thread with local workers, the pool with remote ones.
    const bool local = worker->node() == sys.node();
    auto sched =
        spawn_scheduler(sys, sac, {worker}, kv_cache_actor{}, connector_actor{},
                        local ? scheduler_threading::detached : scheduler_threading::scheduled);
    auto done = std::make_shared<std::promise<double>>();
    auto result = done->get_future();
    auto clock =
        sys.spawn(step_clock, sched, sequence_specs{bench_requests(running, warmup + steps + 10)},
                  warmup, steps, done);
    double us =
        result.wait_for(std::chrono::seconds(120)) == std::future_status::ready ? result.get() : -1;
    caf::anon_send_exit(sched, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(clock, caf::exit_reason::user_shutdown);
    return us;
}

/// A worker with a no-op model in a child process; returns its pid.
pid_t fork_noop_worker(uint16_t port) {
    int ready[2];
    if (pipe(ready) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        runtime_config cfg;
        caf::actor_system sys{cfg};
        auto w = spawn_worker(sys, noop_builder(), "cpu");
        auto p = sys.middleman().publish(w, port, "127.0.0.1", true);
        char c = p ? 1 : 0;
        (void)!write(ready[1], &c, 1);
        pause();  // until the parent kills us
        _exit(0);
    }
    close(ready[1]);
    char c = 0;
    if (read(ready[0], &c, 1) != 1 || c != 1) pid = -1;
    close(ready[0]);
    return pid;
}

int run_bench(const options& o) {
    const std::vector<int32_t>& running = o.running;
    const int32_t steps = o.steps, warmup = o.warmup;
    const bool remote = o.remote;
    const uint16_t port = static_cast<uint16_t>(23000 + getpid() % 1000);
    pid_t child = remote ? fork_noop_worker(port) : -1;
    if (remote && child < 0) {
        std::fprintf(stderr, "bench-actor-hop: could not start the worker process\n");
        return 1;
    }
    runtime_config cfg;
    caf::actor_system sys{cfg};
    std::printf("[\n");
    for (size_t i = 0; i < running.size(); ++i) {
        const int32_t n = running[i];
        double core_us = time_core_loop(n, warmup, steps);
        auto local = spawn_worker(sys, noop_builder(), "cpu");
        double local_us = time_actor_steps(sys, local, n, warmup, steps);
        caf::anon_send_exit(local, caf::exit_reason::user_shutdown);
        double remote_us = -1;
        if (remote) {
            auto w = sys.middleman().remote_actor<worker_actor>("127.0.0.1", port);
            if (w) remote_us = time_actor_steps(sys, *w, n, warmup, steps);
        }
        net::json_writer w;
        w.begin_object().field("running", n);
        w.field("core_loop_us_per_step", cli::rounded(core_us, 1));
        w.field("in_process_us_per_step", cli::rounded(local_us, 1));
        w.field("in_process_overhead_us", cli::rounded(local_us - core_us, 1));
        w.field("cross_process_us_per_step", cli::rounded(remote_us, 1));
        w.field("cross_process_overhead_us",
                cli::rounded(remote_us < 0 ? -1.0 : remote_us - core_us, 1));
        w.end_object();
        // One array, printed element by element as the measurements finish.
        std::printf("  %s%s\n", w.str().c_str(), i + 1 < running.size() ? "," : "");
        std::fflush(stdout);
    }
    std::printf("]\n");
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
    }
    return 0;
}

actorlm::cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    app.add_option("--running", o->running, "running requests per measurement")
        ->delimiter(',')
        ->check(CLI::Range(1, 1 << 16));
    app.add_option("--steps", o->steps, "timed steps")->check(CLI::Range(10, 100000));
    app.add_option("--warmup", o->warmup, "untimed steps first")->check(CLI::Range(2, 10000));
    app.add_flag("!--no-remote", o->remote, "skip the cross-process measurement");
    return [o] { return run_bench(*o); };
}

actorlm::cli::command_registration reg("bench-actor-hop",
                                       "actor-hop cost per engine step (no-op model)", setup);

}  // namespace bench_actor_hop_command

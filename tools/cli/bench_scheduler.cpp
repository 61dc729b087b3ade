// `actorlm bench-scheduler`: cost of the engine core's bookkeeping per step with
// no model: schedule() + update_from_output() with N running decode requests
// (sampled tokens fabricated outside the timed region). Requests are long enough
// to keep decoding for the whole run, so every step crosses block boundaries and
// prefix-cache registration like a real decode. With --kv-group-windows the KV cache has
// one group per entry (model/kv_cache_layout.hpp) and frees the blocks each window left
// behind; the output's peak_blocks_in_use and decode_blocks_in_use then show the blocks a
// long sequence holds (docs/benchmarks.md). Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <ctime>
#include <string>
#include <vector>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "core/scheduler.hpp"
#include "json_output.hpp"

namespace bench_scheduler_command {

using namespace actorlm;
using namespace actorlm::core;
using clock_type = std::chrono::steady_clock;

struct options {
    int64_t running = 256;
    int64_t prompt_len = 128;
    int64_t steps = 2000;
    int64_t block_size = 16;
    std::vector<int64_t> group_windows = {0};
};

model_runner_output fabricate(const scheduler_output& so) {
    model_runner_output out;
    auto add = [&](const std::string& id, bool sample) {
        out.req_ids.push_back(id);
        out.sampled_token_ids.push_back(sample ? std::vector<int32_t>{0} : std::vector<int32_t>{});
    };
    for (const auto& r : so.scheduled_cached_reqs) add(r.req_id, r.will_sample);
    for (const auto& r : so.scheduled_new_reqs) add(r.req_id, r.will_sample);
    return out;
}

// CPU time of this thread: on a shared machine, wall time includes time spent
// descheduled; CPU time does not.
double thread_cpu_us() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double percentile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

int run(const options& o) {
    scheduler_config cfg;
    cfg.block_size = static_cast<int32_t>(o.block_size);
    cfg.max_model_len = static_cast<int32_t>(o.prompt_len + o.steps + 16);
    cfg.max_num_seqs = static_cast<int32_t>(o.running);
    cfg.max_num_batched_tokens = static_cast<int32_t>(std::max<int64_t>(8192, o.running));
    cfg.kv_group_windows.assign(o.group_windows.begin(), o.group_windows.end());
    // Room for every request at its largest: no preemption, the figures are the requests'.
    cfg.num_blocks = static_cast<int32_t>(
        std::min<int64_t>(int64_t{cfg.max_blocks_per_request()} * o.running + 16, INT32_MAX));
    auto s = scheduler::create(cfg);
    if (!s) {
        std::fprintf(stderr, "bench-scheduler: %s\n", s.message().c_str());
        return 1;
    }
    scheduler& sched = **s;
    for (int64_t i = 0; i < o.running; ++i) {
        request_spec spec;
        spec.req_id = "req-" + std::to_string(i);
        for (int64_t t = 0; t < o.prompt_len; ++t)
            spec.prompt_token_ids.push_back(static_cast<int32_t>((i * 7919 + t * 31) % 32000));
        spec.params.max_tokens = static_cast<int32_t>(o.steps + 8);
        spec.params.temperature = 0.0f;
        spec.eos_token_ids = {2};
        if (auto st = sched.add_request(std::move(spec)); !st) {
            std::fprintf(stderr, "bench-scheduler: %s\n", st.message().c_str());
            return 1;
        }
    }
    int32_t peak_blocks = 0;
    auto note_peak = [&] {
        peak_blocks = std::max(peak_blocks, sched.kv().pool().num_used_blocks());
    };
    // Warm up: admit and prefill everything until all requests decode.
    for (int guard = 0; guard < 10000; ++guard) {
        auto so = sched.schedule();
        note_peak();
        sched.update_from_output(so, fabricate(so));
        if (sched.num_running() == o.running && so.total_num_scheduled_tokens == o.running) break;
    }
    std::vector<double> sched_us, update_us, total_us;
    double cpu_us = 0;
    for (int64_t step = 0; step < o.steps; ++step) {
        const double c0 = thread_cpu_us();
        const auto t0 = clock_type::now();
        auto so = sched.schedule();
        const auto t1 = clock_type::now();
        cpu_us += thread_cpu_us() - c0;
        auto out = fabricate(so);
        const auto t2 = clock_type::now();
        const double c1 = thread_cpu_us();
        sched.update_from_output(so, out);
        const auto t3 = clock_type::now();
        cpu_us += thread_cpu_us() - c1;
        note_peak();
        const double a = std::chrono::duration<double, std::micro>(t1 - t0).count();
        const double b = std::chrono::duration<double, std::micro>(t3 - t2).count();
        sched_us.push_back(a);
        update_us.push_back(b);
        total_us.push_back(a + b);
        if (so.num_scheduled_reqs() != o.running) {
            std::fprintf(stderr, "bench-scheduler: step %lld scheduled %d of %lld requests\n",
                         static_cast<long long>(step), so.num_scheduled_reqs(),
                         static_cast<long long>(o.running));
            return 1;
        }
    }
    double mean = 0;
    for (double x : total_us) mean += x;
    mean /= static_cast<double>(total_us.size());
    net::json_writer w;
    w.begin_object().field("bench", "scheduler").field("running", o.running);
    w.field("prompt_len", o.prompt_len).field("steps", o.steps).field("block_size", o.block_size);
    w.key("kv_group_windows").begin_array();
    for (int64_t g : o.group_windows) w.value(g);
    w.end_array();
    w.field("peak_blocks_in_use", peak_blocks);
    w.field("decode_blocks_in_use",  // after the timed decode steps
            sched.kv().pool().num_used_blocks());
    w.field("step_us_mean", cli::rounded(mean, 2));
    w.field("step_us_p50", cli::rounded(percentile(total_us, 0.5), 2));
    w.field("step_us_p99", cli::rounded(percentile(total_us, 0.99), 2));
    w.field("schedule_us_p50", cli::rounded(percentile(sched_us, 0.5), 2));
    w.field("update_us_p50", cli::rounded(percentile(update_us, 0.5), 2));
    w.field("step_cpu_us_mean", cli::rounded(cpu_us / static_cast<double>(o.steps), 2));
    w.field("goal_us", 100);
    cli::print_json_line(w.end_object());
    return 0;
}

cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    app.add_option("--running", o->running, "running decode requests")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--prompt-len", o->prompt_len, "prompt tokens per request")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--steps", o->steps, "timed steps")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--block-size", o->block_size, "tokens per KV block")
        ->check(CLI::IsMember({1, 8, 16, 32, 64, 128}))
        ->capture_default_str();
    app.add_option("--kv-group-windows", o->group_windows,
                   "KV-cache groups, each its sliding window or 0 for full attention, comma-"
                   "separated: blocks behind a window are freed")
        ->delimiter(',')
        ->check(actorlm::cli::non_negative())
        ->capture_default_str();
    return [o] { return run(*o); };
}

cli::command_registration reg("bench-scheduler",
                              "time schedule() + update_from_output() per step, no model", setup);

}  // namespace bench_scheduler_command

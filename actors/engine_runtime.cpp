// engine_runtime implementation: startup (model, tokenizer, KV sizing, workers,
// actors) and the thread-safe entry points the facade forwards to.
#include "actors/engine_runtime.hpp"

#include <algorithm>
#include <thread>

#include "actors/worker_actor.hpp"

namespace actorlm::actors {

namespace {

/// Splits `num_layers` into `n` contiguous stages as evenly as possible.
std::vector<std::pair<int64_t, int64_t>> split_layers(int64_t num_layers, size_t n) {
    std::vector<std::pair<int64_t, int64_t>> out;
    int64_t begin = 0;
    for (size_t i = 0; i < n; ++i) {
        int64_t len = num_layers / static_cast<int64_t>(n) +
                      (static_cast<int64_t>(i) < num_layers % static_cast<int64_t>(n) ? 1 : 0);
        out.emplace_back(begin, begin + len);
        begin += len;
    }
    return out;
}

/// One setup per stage: its layer range and the plan's KV request (num_blocks 0:
/// each worker's backend sizes the cache from its own device memory).
std::vector<worker_setup> stage_setups(const core::engine_plan& plan, size_t num_stages) {
    const executor_request& ex = plan.executor;
    const int32_t threads = ex.num_threads > 0
                                ? ex.num_threads
                                : static_cast<int32_t>(std::thread::hardware_concurrency());
    std::vector<worker_setup> setups;
    auto ranges = split_layers(plan.model->config.num_layers, num_stages);
    for (size_t i = 0; i < num_stages; ++i) {
        worker_setup s;
        s.stage_index = static_cast<int32_t>(i);
        s.num_stages = static_cast<int32_t>(num_stages);
        s.first_layer = ranges[i].first;
        s.last_layer = ranges[i].second;
        s.num_blocks = ex.num_blocks;
        s.kv_cache_memory_bytes = ex.kv_cache_memory_bytes;
        s.max_num_blocks = ex.max_num_blocks;
        s.block_size = ex.block_size;
        s.kv_cache_dtype = ex.kv_cache_dtype;
        s.num_threads = threads;
        s.seed = plan.seed;
        setups.push_back(s);
    }
    return setups;
}

}  // namespace

std::unique_ptr<engine_runtime> engine_runtime::create(const engine_config& cfg,
                                                       std::string* error) {
    auto fail = [&](const std::string& msg) -> std::unique_ptr<engine_runtime> {
        if (error) *error = msg;
        return nullptr;
    };
    auto plan = core::make_engine_plan(cfg);
    if (!plan) return fail(plan.message());
    // The KV-cache actor does not own connectors yet (issue 13, phase 2): refuse
    // rather than serve without the tier the user asked for.
    if (!cfg.kv_transfer_config.empty())
        return fail(
            "kv_transfer_config is supported by the offline engine only for now "
            "(actorlm generate / bench-throughput), not by the server runtime");
    std::unique_ptr<engine_runtime> rt(new engine_runtime());
    rt->plan_ = std::make_shared<const core::engine_plan>(std::move(plan).value());
    const core::engine_plan& p = *rt->plan_;
    const model_config& mc = p.model->config;

    rt->cfg_ = std::make_unique<runtime_config>();
    rt->sys_ = std::make_unique<caf::actor_system>(*rt->cfg_);
    auto& sys = *rt->sys_;

    // Workers: one local stage, or one remote stage per --worker.
    std::vector<worker_address> addresses;
    if (cfg.workers.empty()) {
        rt->workers_.push_back(spawn_worker(sys, p.model, cfg.device));
    } else {
        rt->remote_workers_ = true;
        for (const auto& w : cfg.workers) {
            worker_address a;
            std::string err;
            if (!parse_worker_address(w, &a, &err)) return fail(err);
            auto handle = sys.middleman().remote_actor<worker_actor>(a.host, a.port);
            if (!handle)
                return fail("cannot reach worker " + w + ": " + sys.render(handle.error()));
            rt->workers_.push_back(*handle);
            addresses.push_back(a);
        }
    }
    if (static_cast<int64_t>(rt->workers_.size()) > mc.num_layers)
        return fail("more workers than model layers");

    // Each stage sizes its KV cache from its own device; the engine uses the smallest
    // count, and stages that allocated more are set up again with exactly that count
    // (so a reconnected worker is also given a fixed count).
    scheduler_actor_config sac;
    sac.stages = stage_setups(p, rt->workers_.size());
    std::vector<worker_info> infos;
    if (auto err = setup_workers(sys, rt->workers_, sac.stages, sac.setup_timeout, &infos);
        !err.empty())
        return fail(err);
    int32_t num_blocks = infos.front().num_blocks;
    for (const auto& info : infos) num_blocks = std::min(num_blocks, info.num_blocks);
    if (num_blocks <= 0) return fail("a worker allocated no KV-cache blocks");
    for (auto& s : sac.stages) s.num_blocks = num_blocks;
    for (size_t i = 0; i < infos.size(); ++i) {
        if (infos[i].num_blocks == num_blocks) continue;
        if (auto err = setup_workers(sys, {rt->workers_[i]}, {sac.stages[i]}, sac.setup_timeout);
            !err.empty())
            return fail(err);
    }
    sac.sched = p.sched;
    sac.sched.num_blocks = num_blocks;

    rt->kv_ = spawn_kv_cache_actor(sys, num_blocks);
    if (rt->remote_workers_) rt->connector_ = spawn_connector(sys, addresses);
    rt->scheduler_ = spawn_scheduler(
        sys, sac, rt->workers_, rt->kv_, rt->connector_,
        rt->remote_workers_ ? scheduler_threading::scheduled : scheduler_threading::detached);
    detokenizer_config dc;
    dc.eos_token_ids = p.eos_token_ids;
    dc.max_model_len = p.sched.max_model_len;
    rt->detokenizer_ = spawn_detokenizer(sys, p.tok, p.chat, dc, rt->scheduler_);
    rt->frontend_ = spawn_frontend(sys, rt->detokenizer_);

    rt->info_.name = p.served_model_name;
    rt->info_.max_model_len = p.sched.max_model_len;
    rt->info_.vocab_size = static_cast<int32_t>(mc.vocab_size);
    return rt;
}

engine_runtime::~engine_runtime() {
    if (!sys_) return;
    auto stop = [](const auto& h) {
        if (h) caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    };
    stop(frontend_);
    stop(detokenizer_);
    stop(scheduler_);
    stop(kv_);
    stop(connector_);
    if (!remote_workers_)
        for (const auto& w : workers_) stop(w);
    workers_.clear();
    frontend_ = nullptr;
    detokenizer_ = nullptr;
    scheduler_ = nullptr;
    kv_ = nullptr;
    connector_ = nullptr;
    sys_.reset();
}

std::string engine_runtime::submit(generate_request req, delta_callback on_delta) {
    if (req.request_id.empty()) req.request_id = "req-" + std::to_string(next_id_.fetch_add(1));
    std::string id = req.request_id;
    caf::anon_send(frontend_, submit_atom_v, submission{std::move(req), std::move(on_delta)});
    return id;
}

void engine_runtime::abort(const std::string& request_id) {
    caf::anon_send(frontend_, abort_atom_v, request_id);
}

engine_stats engine_runtime::stats() const {
    engine_stats out;
    caf::scoped_actor self{*sys_, true};
    // The KV-cache actor answers from the scheduler's last report: never behind a step.
    self->request(kv_, std::chrono::seconds(5), stats_atom_v)
        .receive([&](engine_stats& s) { out = std::move(s); },
                 [&](caf::error& err) {
                     out.healthy = false;
                     out.health_message = "KV-cache actor did not answer: " + sys_->render(err);
                 });
    return out;
}

}  // namespace actorlm::actors

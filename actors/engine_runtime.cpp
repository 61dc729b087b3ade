// engine_runtime implementation: startup (model, tokenizer, KV sizing, workers,
// actors) and the thread-safe entry points the facade forwards to.
#include "actors/engine_runtime.hpp"

#include <algorithm>
#include <thread>

#include "actors/encoder_store_client.hpp"
#include "actors/kv_store_client.hpp"
#include "actors/node_tls.hpp"
#include "base/host_port.hpp"
#include "multimodal/image_preprocessor.hpp"
#include "actors/worker_actor.hpp"
#include "kv/kv_connector_registry.hpp"

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
        s.hybrid_kv_groups = ex.hybrid_kv_groups;
        s.num_threads = threads;
        s.seed = plan.seed;
        setups.push_back(s);
    }
    return setups;
}

/// Has the KV-cache actor build the configured KV connector over the (in-process)
/// worker's cache: the worker gets its worker side, the returned scheduler side goes
/// to the scheduler. Error message or "".
std::string set_up_kv_connector(caf::actor_system& sys, const kv_cache_actor& kv,
                                const core::engine_plan& plan, const worker_actor& worker,
                                const worker_info& info, const std::string& cluster_address,
                                const tls_config& tls,
                                std::shared_ptr<kv::kv_connector_scheduler>* out) {
    kv_connector_setup setup;
    setup.config = *plan.kv_transfer;
    inherit_kv_store_tls(setup.config, tls);
    setup.context.block_size = plan.sched.block_size;
    setup.context.block_layer_bytes = static_cast<size_t>(info.kv_block_layer_bytes);
    setup.context.num_layers = info.num_kv_layers;
    setup.context.model_tag = plan.served_model_name;
    setup.context.cluster_address = cluster_address;
    setup.context.cluster_tls = tls.enabled();
    std::string failure;
    caf::scoped_actor self{sys};
    self->request(kv, caf::infinite, setup_atom_v, std::move(setup), worker)
        .receive([&](kv_connector_handoff& h) { *out = std::move(h.scheduler); },
                 [&](caf::error& err) { failure = sys.render(err); });
    return failure;
}

}  // namespace

/// The worker's encoder store: another engine's (encoder_store_address) or our own,
/// published when encoder_store_listen asks. An error message, empty on success.
std::string engine_runtime::open_encoder_store(engine_runtime& rt, const engine_config& cfg) {
    auto& sys = *rt.sys_;
    if (!cfg.encoder_store_address.empty()) {
        auto hp = parse_host_port(cfg.encoder_store_address);
        if (!hp) return "encoder_store_address: " + hp.message();
        auto handle = connect_node<encoder_cache_actor>(sys, hp->host, hp->port);
        if (!handle)
            return "cannot reach the encoder store at " + cfg.encoder_store_address + ": " +
                   describe_connect_error(sys, handle.error());
        rt.encoder_store_ = *handle;
        return {};
    }
    rt.encoder_store_ = spawn_encoder_cache_actor(
        sys, static_cast<size_t>(cfg.encoder_store_gb * double(int64_t{1} << 30)));
    rt.own_encoder_store_ = true;
    if (!cfg.encoder_store_listen.empty()) {
        auto hp = parse_host_port(cfg.encoder_store_listen);
        if (!hp) return "encoder_store_listen: " + hp.message();
        auto port = publish_node(rt.encoder_store_, hp->host, hp->port);
        if (!port)
            return "cannot listen for the encoder store on " + cfg.encoder_store_listen + ": " +
                   sys.render(port.error());
        rt.encoder_store_port_ = *port;
    }
    return {};
}

std::unique_ptr<engine_runtime> engine_runtime::create(const engine_config& cfg,
                                                       std::string* error) {
    auto fail = [&](const std::string& msg) -> std::unique_ptr<engine_runtime> {
        if (error) *error = msg;
        return nullptr;
    };
    // Connectors that need CAF live here; the plan validates kv_transfer_config.
    register_kv_store_connector();
    // Before the model loads: a TLS mistake should not cost a model load to find.
    if (auto err = check_tls_config(cfg.tls); !err.empty()) return fail(err);
    auto plan = core::make_engine_plan(cfg);
    if (!plan) return fail(plan.message());
    // A connector's two sides share their tier in this process; remote workers
    // would need the KV bytes sent to them (the cluster work): refuse until then
    // rather than serve without the tier the user asked for.
    if (plan->kv_transfer && !cfg.workers.empty())
        return fail(
            "kv_transfer_config needs the engine's worker in this process; it cannot be "
            "combined with --worker yet");
    std::unique_ptr<engine_runtime> rt(new engine_runtime());
    rt->plan_ = std::make_shared<const core::engine_plan>(std::move(plan).value());
    const core::engine_plan& p = *rt->plan_;
    const model_config& mc = p.model->config;

    rt->cfg_ = std::make_unique<runtime_config>();
    if (auto err = configure_node_tls(*rt->cfg_, cfg.tls); !err.empty()) return fail(err);
    rt->sys_ = std::make_unique<caf::actor_system>(*rt->cfg_);
    auto& sys = *rt->sys_;

    // Images are encoded by the worker in this process: remote workers receive the
    // scheduler's output over the wire, which carries an image's hash but not its pixels.
    // The CUDA executor does not take embedding rows yet: images are refused up front
    // there rather than failing each request's first step.
    const bool serves_images = p.images && cfg.workers.empty() && cfg.device == "cpu";

    // Workers: one local stage, or one remote stage per --worker.
    std::vector<worker_address> addresses;
    if (cfg.workers.empty()) {
        std::shared_ptr<multimodal::encoder_output_store> store;
        if (serves_images) {
            auto err = open_encoder_store(*rt, cfg);
            if (!err.empty()) return fail(err);
            store = std::make_shared<encoder_store_client>(sys, rt->encoder_store_);
        }
        rt->workers_.push_back(
            spawn_worker(sys, p.model, cfg.device, std::move(store), p.executor.on_load_progress));
    } else {
        rt->remote_workers_ = true;
        for (const auto& w : cfg.workers) {
            worker_address a;
            std::string err;
            if (!parse_worker_address(w, &a, &err)) return fail(err);
            auto handle = connect_node<worker_actor>(sys, a.host, a.port);
            if (!handle)
                return fail("cannot reach worker " + w + ": " +
                            describe_connect_error(sys, handle.error()));
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
    if (!rt->remote_workers_) sac.step_timeout = std::chrono::milliseconds(0);
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
    sac.async_scheduling = cfg.async_scheduling;
    {
        auto loggers = plugins::plugin_stat_loggers::create(p.served_model_name, 0);
        if (!loggers) return fail(loggers.message());
        if (!(*loggers)->empty()) sac.stat_loggers = std::move(*loggers);
    }
    for (const auto& info : infos)  // a pool's bytes are its blocks' (set up again above)
        sac.kv_reserved_bytes += info.kv_cache_bytes / info.num_blocks * num_blocks;
    // The pool the workers allocated must hold one sequence of max_model_len: say so
    // here rather than let the scheduler actor refuse its config.
    if (auto check = core::scheduler::validate(sac.sched); !check) return fail(check.message());
    rt->kv_ = spawn_kv_cache_actor(sys, num_blocks);
    if (p.kv_transfer) {
        if (auto err = set_up_kv_connector(sys, rt->kv_, p, rt->workers_.front(), infos.front(),
                                           cfg.cluster_listen, cfg.tls, &sac.kv_connector);
            !err.empty())
            return fail(err);
    }
    if (rt->remote_workers_) rt->connector_ = spawn_connector(sys, addresses);
    rt->scheduler_ = spawn_scheduler(
        sys, sac, rt->workers_, rt->kv_, rt->connector_,
        rt->remote_workers_ ? scheduler_threading::scheduled : scheduler_threading::detached);
    caf::anon_send(rt->kv_, setup_atom_v, rt->scheduler_);
    detokenizer_config dc;
    dc.eos_token_ids = p.eos_token_ids;
    dc.max_model_len = p.sched.max_model_len;
    if (serves_images) dc.images = p.images;
    rt->detokenizer_ = spawn_detokenizer(sys, p.tok, p.chat, dc, rt->scheduler_);
    rt->frontend_ = spawn_frontend(sys, rt->detokenizer_);

    rt->info_.name = p.served_model_name;
    rt->info_.max_model_len = p.sched.max_model_len;
    rt->info_.vocab_size = static_cast<int32_t>(mc.vocab_size);
    rt->info_.hidden_size = static_cast<int32_t>(mc.hidden_size);
    rt->info_.supports_image_input = dc.images != nullptr;
    rt->info_.default_pooling = mc.pooling;
    rt->info_.embedding_only = !mc.recipe.causal;
    // The last stage pools; its executor must hand back hidden rows.
    rt->pooling_device_ = infos.back().returns_hidden_states ? std::string() : infos.back().device;

    // A cluster member: routers reach this engine's requests, stats and KV events.
    if (!cfg.cluster_listen.empty()) {
        auto hp = parse_host_port(cfg.cluster_listen);
        if (!hp) return fail("cluster_listen: " + hp.message());
        rt->member_ = spawn_cluster_member(sys, rt->frontend_, rt->kv_, rt->info_);
        auto port = publish_node(rt->member_, hp->host, hp->port);
        if (!port)
            return fail("cannot listen for the cluster on " + cfg.cluster_listen + ": " +
                        sys.render(port.error()));
        rt->cluster_port_ = *port;
    }
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
    stop(member_);
    if (own_encoder_store_) stop(encoder_store_);
    if (!remote_workers_)
        for (const auto& w : workers_) stop(w);
    workers_.clear();
    frontend_ = nullptr;
    detokenizer_ = nullptr;
    scheduler_ = nullptr;
    kv_ = nullptr;
    connector_ = nullptr;
    member_ = nullptr;
    encoder_store_ = nullptr;
    sys_.reset();
}

std::string engine_runtime::submit(generate_request req, delta_callback on_delta) {
    std::string id = assign_request_id(req);
    if (req.params.pooling && !pooling_device_.empty()) {
        // Refused here rather than in the step, which would fail with it every
        // generation batched beside it.
        output_delta d;
        d.request_id = id;
        d.finish = finish_reason::error;
        d.error_kind = error_kind::invalid_argument;
        d.error = "embeddings need an executor that returns hidden states; the " +
                  pooling_device_ + " backend does not yet (use --device cpu)";
        on_delta(d);
        return id;
    }
    if (!req.params.pooling && info_.embedding_only) {
        output_delta d;
        d.request_id = id;
        d.finish = finish_reason::error;
        d.error_kind = error_kind::invalid_argument;
        d.error = core::embedding_only_generation_error(info_.name);
        on_delta(d);
        return id;
    }
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
    if (const auto* images = this->images()) {
        const auto cache = images->stats();
        out.mm_processor_cache_queries_total = cache.queries;
        out.mm_processor_cache_hits_total = cache.hits;
        out.mm_images_processed_total = cache.images_processed;
    }
    return out;
}

bool engine_runtime::reset_prefix_cache(std::string* error) {
    bool done = false;
    caf::scoped_actor self{*sys_, true};
    self->request(kv_, std::chrono::seconds(30), reset_atom_v)
        .receive([&](bool d) { done = d; },
                 [&](caf::error& err) {
                     if (error) *error = sys_->render(err);
                 });
    if (!done && error && error->empty())
        *error = "requests still hold KV blocks; the prefix cache is reset only when idle";
    return done;
}

}  // namespace actorlm::actors

// scheduler actor implementation. A step's scheduler_output goes through the stages
// in order (stage k's activations are passed to stage k+1 by this actor), then
// update_from_output runs. One step is in flight at a time, or two with async
// scheduling (one stage only): step N+1 is scheduled and sent as soon as step N is,
// so the worker finds it queued when N ends (its tokens of N are placeholders it fills
// itself), and N's outputs are processed while N+1 runs. A step epoch guards against
// late replies from a worker that was declared lost.
#include "actors/scheduler_actor.hpp"

#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "core/scheduler.hpp"

namespace actorlm::actors {

namespace {

struct scheduler_state {
    scheduler_state() = default;  // not an aggregate: CAF probes State(self)
    scheduler_actor_config cfg;
    std::unique_ptr<core::scheduler> sched;
    std::vector<worker_actor> stages;
    std::vector<bool> stage_up;
    kv_cache_actor kv;
    connector_actor connector;
    caf::strong_actor_ptr detokenizer;  // whoever submits; one per engine
    int32_t steps_in_flight = 0;  // sent to the workers, not yet answered
    bool step_queued = false;
    uint64_t epoch = 0;
    int64_t num_steps = 0;
    int64_t num_steps_recorded = 0;     // by the plugins' stat loggers
    int64_t finished_since_record = 0;  // sequences ended since
    double worker_busy_seconds = 0.0;  // the first stage's, summed over answered steps
    double worker_wait_seconds = 0.0;  // its gaps before steps sent while there was work
    // Per step in flight, oldest first: it was sent while the engine had work (another
    // step in flight, or work left when the previous answer came), so the worker's idle
    // gap before it is waiting for the scheduler rather than for requests.
    std::deque<bool> step_had_work;
    bool work_at_last_answer = false;
    // Aborts that overtook their (in-flight) submission: serial -> ids.
    uint64_t highest_serial = 0;
    std::unordered_map<uint64_t, std::vector<std::string>> early_aborts;
    // Each stage's KV pool bytes in memory, as last measured (stage_result).
    std::vector<int64_t> kv_resident_bytes;
    // Sequences to migrate once the step in flight is done (its KV is then written).
    std::vector<std::string> pending_migrations;
    // Snapshots (a migration's pre-copy) to offer once the step in flight is done.
    std::vector<std::pair<std::string, caf::typed_response_promise<kv_transfer_params>>>
        pending_snapshots;
    // Cumulative counters across scheduler rebuilds (after a worker loss).
    engine_stats base;
    std::string health_message;
    static inline const char* name = "actorlm.scheduler";

    /// Two with async scheduling, unless a migration or snapshot waits: those need every
    /// step's KV written, so scheduling pauses until the steps in flight are done.
    int32_t max_steps_in_flight() const {
        const bool moves = !pending_migrations.empty() || !pending_snapshots.empty();
        return cfg.async_scheduling && !moves ? 2 : 1;
    }
    bool healthy() const {
        for (bool up : stage_up)
            if (!up) return false;
        return true;
    }
};

using scheduler_self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

void send_outputs(scheduler_self_ptr self, step_outputs out) {
    if (!self->state.detokenizer) return;
    if (out.outputs.empty() && out.ended.empty()) return;
    self->send(caf::actor_cast<detokenizer_actor>(self->state.detokenizer), outputs_atom_v,
               std::move(out));
}

/// Tells the KV-cache actor the core's state; called after every step and every
/// change between steps, so its answers are never more than one change behind.
void report_state(scheduler_self_ptr self) {
    auto& st = self->state;
    if (!st.kv) return;
    kv_step_report r;
    r.step = st.num_steps;
    r.num_blocks = st.cfg.sched.num_blocks;
    r.stats = core::to_engine_stats(st.sched->stats());
    // Counters of the schedulers that a lost worker made us rebuild.
    r.stats.prompt_tokens_total += st.base.prompt_tokens_total;
    r.stats.generation_tokens_total += st.base.generation_tokens_total;
    r.stats.prefix_cache_queries_total += st.base.prefix_cache_queries_total;
    r.stats.prefix_cache_hits_total += st.base.prefix_cache_hits_total;
    r.stats.num_preemptions_total += st.base.num_preemptions_total;
    r.stats.encoder_cache_queries_total += st.base.encoder_cache_queries_total;
    r.stats.encoder_cache_hits_total += st.base.encoder_cache_hits_total;
    core::add_spec_decode_stats(r.stats, st.base);
    r.stats.kv_cache_reserved_bytes = st.cfg.kv_reserved_bytes;
    for (int64_t b : st.kv_resident_bytes) r.stats.kv_cache_resident_bytes += b;
    r.stats.engine_steps_total = st.num_steps;
    r.stats.worker_busy_seconds_total = st.worker_busy_seconds;
    r.stats.worker_wait_seconds_total = st.worker_wait_seconds;
    r.stats.healthy = st.healthy();
    r.stats.health_message = r.stats.healthy ? "" : st.health_message;
    if (st.cfg.stat_loggers && st.num_steps != st.num_steps_recorded) {  // once per step
        st.cfg.stat_loggers->record(r.stats, st.num_steps, st.finished_since_record);
        st.num_steps_recorded = st.num_steps;
        st.finished_since_record = 0;
    }
    r.events = st.sched->take_kv_events();
    self->send(st.kv, kv_atom_v, std::move(r));
}

void queue_step(scheduler_self_ptr self) {
    auto& st = self->state;
    if (st.steps_in_flight >= st.max_steps_in_flight() || st.step_queued) return;
    st.step_queued = true;
    self->send(self, step_atom_v);
}

/// queue_step after a pause, when nothing could be scheduled.
void queue_step_later(scheduler_self_ptr self) {
    auto& st = self->state;
    if (st.steps_in_flight >= st.max_steps_in_flight() || st.step_queued) return;
    st.step_queued = true;
    self->delayed_send(self, std::chrono::milliseconds(1), step_atom_v);
}

/// Ends the given sequences with an error and tells the detokenizer.
void fail_sequences(scheduler_self_ptr self, const std::vector<std::string>& ids,
                    const std::string& why) {
    step_outputs out;
    for (const auto& id : ids) {
        if (self->state.sched->finish_request(id, core::request_status::finished_error, why)) {
            out.ended.push_back({id, finish_reason::error, why});
        }
    }
    send_outputs(self, std::move(out));
}

std::vector<std::string> ids_of(const core::scheduler_output& so) {
    std::vector<std::string> ids;
    for (const auto& r : so.scheduled_cached_reqs) ids.push_back(r.req_id);
    for (const auto& r : so.scheduled_new_reqs) ids.push_back(r.req_id);
    return ids;
}

/// Fails every live request and rebuilds the scheduler with an empty KV cache:
/// a lost worker took its KV blocks (and prefix cache) with it.
void fail_everything(scheduler_self_ptr self, const std::string& why) {
    auto& st = self->state;
    fail_sequences(self, st.sched->live_request_ids(), why);
    auto s = st.sched->stats();
    st.base.prefix_cache_queries_total += s.prefix_cache.queries;
    st.base.prefix_cache_hits_total += s.prefix_cache.hits;
    st.base.num_preemptions_total += s.num_preemptions;
    st.base.encoder_cache_queries_total += s.encoder_cache_queries;
    st.base.encoder_cache_hits_total += s.encoder_cache_hits;
    st.base.prompt_tokens_total += s.num_prompt_tokens;
    core::add_spec_decode_stats(st.base, core::to_engine_stats(s));
    st.base.generation_tokens_total += s.num_generation_tokens;
    auto fresh = core::scheduler::create(st.cfg.sched);
    if (fresh) {
        st.sched = std::move(fresh.value());
        if (st.cfg.kv_connector) st.sched->set_kv_connector(st.cfg.kv_connector);
    }
    ++st.epoch;
    st.steps_in_flight = 0;
    st.step_had_work.clear();
}

void lose_stage(scheduler_self_ptr self, size_t index, const std::string& why) {
    auto& st = self->state;
    if (index >= st.stages.size() || !st.stage_up[index]) return;
    st.stage_up[index] = false;
    st.health_message = "worker " + std::to_string(index) + " lost: " + why;
    fail_everything(self, st.health_message);
    report_state(self);
    if (st.connector) self->send(st.connector, worker_atom_v, static_cast<int32_t>(index));
}

void finish_step(scheduler_self_ptr self, const core::scheduler_output& so,
                 const core::model_runner_output& out) {
    auto& st = self->state;
    step_outputs res;
    res.outputs = st.sched->update_from_output(so, out);
    for (const auto& o : res.outputs)
        if (core::is_finished(o.status)) ++st.finished_since_record;
    send_outputs(self, std::move(res));
}

/// Offers the snapshots asked for, then ends the sequences waiting to migrate, their
/// KV kept for the engine that continues them (the connector says where); between
/// steps only, so every computed token's KV is in the cache. Their outputs so far went
/// to the detokenizer first.
void apply_moves(scheduler_self_ptr self) {
    auto& st = self->state;
    if (st.steps_in_flight > 0) return;
    // Snapshots first: a sequence asked for both is still running for the first.
    for (auto& [id, promise] : std::exchange(st.pending_snapshots, {})) {
        if (auto kt = st.sched->snapshot_request(id))
            promise.deliver(std::move(*kt));
        else
            promise.deliver(caf::make_error(engine_errc::no_snapshot,
                                            "sequence " + id +
                                                " has no KV to offer (not running, no whole "
                                                "block yet, or no KV connector serves pulls)"));
    }
    if (st.pending_migrations.empty()) return;
    step_outputs out;
    for (const auto& id : std::exchange(st.pending_migrations, {})) {
        bool found = false;
        auto kt = st.sched->migrate_request(id, &found);
        if (found) out.ended.push_back({id, finish_reason::abort, {}, error_kind::internal, kt});
    }
    if (out.ended.empty()) return;
    report_state(self);
    send_outputs(self, std::move(out));
}

void run_stage(scheduler_self_ptr self, std::shared_ptr<const core::scheduler_output> so, size_t k,
               std::vector<char> hidden) {
    auto& state = self->state;  // (lambdas below take their own reference)
    const uint64_t epoch = state.epoch;
    auto request = [&](auto timeout) {
        return self->request(state.stages[k], timeout, step_atom_v, *so, std::move(hidden));
    };
    auto pending = state.cfg.step_timeout.count() > 0 ? request(state.cfg.step_timeout)
                                                      : request(caf::infinite);
    std::move(pending).then(
        [self, so, k, epoch](stage_result& r) {
            auto& st = self->state;
            if (epoch != st.epoch) return;  // a loss ended this step already
            if (k == 0) {
                st.worker_busy_seconds += r.busy_seconds;
                if (!st.step_had_work.empty() && st.step_had_work.front() &&
                    r.idle_before_seconds > 0.0)
                    st.worker_wait_seconds += r.idle_before_seconds;
            }
            if (r.kv_resident_bytes >= 0) {
                st.kv_resident_bytes.resize(st.stages.size(), 0);
                st.kv_resident_bytes[k] = r.kv_resident_bytes;
            }
            if (k + 1 < st.stages.size()) {
                run_stage(self, so, k + 1, std::move(r.hidden));
                return;
            }
            finish_step(self, *so, r.output);
            --st.steps_in_flight;
            if (!st.step_had_work.empty()) st.step_had_work.pop_front();
            st.work_at_last_answer = st.sched->has_unfinished_requests();
            apply_moves(self);
            ++st.num_steps;
            report_state(self);
            if (!st.sched->has_unfinished_requests()) return;
            if (so->empty())
                queue_step_later(self);  // polling a connector: do not spin
            else
                queue_step(self);
        },
        [self, so, k, epoch](caf::error& err) {
            auto& st = self->state;
            if (epoch != st.epoch) return;
            std::string why = self->system().render(err);
            if (err.category() == caf::atom("engine") &&
                err.code() == static_cast<uint8_t>(engine_errc::worker_failed)) {
                // The model failed on these inputs; the worker itself is fine.
                fail_sequences(self, ids_of(*so), "worker error: " + why);
                --st.steps_in_flight;
                if (!st.step_had_work.empty()) st.step_had_work.pop_front();
                report_state(self);
                if (st.sched->has_unfinished_requests()) queue_step(self);
                return;
            }
            lose_stage(self, k, why);
        });
}

void do_step(scheduler_self_ptr self) {
    auto& st = self->state;
    st.step_queued = false;
    if (st.steps_in_flight >= st.max_steps_in_flight() || !st.healthy()) return;
    if (!st.sched->has_unfinished_requests()) return;
    auto so = std::make_shared<const core::scheduler_output>(st.sched->schedule());
    // A step that schedules nothing still goes to the workers when it carries
    // finished ids (their state must be dropped) or a connector is in use (loads
    // and saves report completion with steps); otherwise try again shortly, or when
    // the step in flight is answered.
    if (so->empty() && so->finished_req_ids.empty() && !st.sched->kv_connector()) {
        if (st.steps_in_flight == 0) queue_step_later(self);
        return;
    }
    st.step_had_work.push_back(st.steps_in_flight > 0 || st.work_at_last_answer);
    ++st.steps_in_flight;
    report_state(self);  // scheduling moved requests from waiting to running
    run_stage(self, so, 0, {});
    queue_step(self);  // async scheduling: the next step now, while this one runs
}

void add_specs(scheduler_self_ptr self, uint64_t serial, sequence_specs& specs) {
    auto& st = self->state;
    st.highest_serial = std::max(st.highest_serial, serial);
    std::vector<std::string> ids;
    for (const auto& s : specs.specs) ids.push_back(s.req_id);
    auto early = st.early_aborts.find(serial);
    if (early != st.early_aborts.end()) {
        st.early_aborts.erase(early);
        step_outputs out;
        for (const auto& id : ids) out.ended.push_back({id, finish_reason::abort, {}});
        send_outputs(self, std::move(out));
        return;
    }
    std::string failure;
    error_kind kind = error_kind::unavailable;
    if (!st.healthy()) failure = "engine unhealthy: " + st.health_message;
    std::vector<std::string> added;
    for (auto& s : specs.specs) {
        if (!failure.empty()) break;
        std::string id = s.req_id;
        if (auto res = st.sched->add_request(std::move(s)); !res) {
            failure = res.message();
            kind = res.kind();  // the scheduler marks what the request got wrong
            break;
        }
        added.push_back(id);
    }
    if (!failure.empty()) {
        for (const auto& id : added) st.sched->abort_request(id);
        step_outputs out;
        for (const auto& id : ids) out.ended.push_back({id, finish_reason::error, failure, kind});
        send_outputs(self, std::move(out));
        return;
    }
    report_state(self);
    queue_step(self);
}

scheduler_actor::behavior_type scheduler_impl(scheduler_self_ptr self, scheduler_actor_config cfg,
                                              std::vector<worker_actor> stages, kv_cache_actor kv,
                                              connector_actor connector) {
    auto& init = self->state;  // (lambdas below take their own reference)
    init.cfg = std::move(cfg);
    // engine_runtime validated this config already; a failure here is a bug.
    auto sched = core::scheduler::create(init.cfg.sched);
    ACTORLM_CHECK(sched.ok(), "scheduler config rejected: %s", sched.message().c_str());
    init.sched = std::move(sched.value());
    if (init.cfg.kv_connector) init.sched->set_kv_connector(init.cfg.kv_connector);
    init.stages = std::move(stages);
    init.stage_up.assign(init.stages.size(), true);
    init.kv = std::move(kv);
    init.connector = std::move(connector);
    for (auto& w : init.stages) self->monitor(w);
    self->set_down_handler([self](caf::down_msg& dm) {
        auto& st = self->state;
        for (size_t i = 0; i < st.stages.size(); ++i)
            if (st.stages[i] && st.stages[i].address() == dm.source)
                lose_stage(self, i, self->system().render(dm.reason));
    });
    report_state(self);  // stats (the pool's size among them) before the first step
    return {
        [self](submit_atom, uint64_t serial, sequence_specs& specs) {
            if (!self->state.detokenizer) self->state.detokenizer = self->current_sender();
            add_specs(self, serial, specs);
        },
        [self](abort_atom, uint64_t serial, const std::vector<std::string>& ids) {
            auto& st = self->state;
            if (serial > st.highest_serial) {  // its submission is still on the way
                st.early_aborts[serial] = ids;
                return;
            }
            step_outputs out;
            for (const auto& id : ids) {
                if (st.sched->abort_request(id))
                    out.ended.push_back({id, finish_reason::abort, {}});
            }
            if (!out.ended.empty()) report_state(self);
            send_outputs(self, std::move(out));
        },
        [self](migrate_atom, std::vector<std::string>& ids) {
            auto& st = self->state;
            st.pending_migrations.insert(st.pending_migrations.end(), ids.begin(), ids.end());
            apply_moves(self);
        },
        [self](precopy_atom, std::string& id) {
            auto& st = self->state;
            auto promise = self->make_response_promise<kv_transfer_params>();
            st.pending_snapshots.emplace_back(std::move(id), promise);
            apply_moves(self);
            return promise;
        },
        [self](finish_atom, const std::string& id, const std::string& stop) {
            self->state.sched->finish_request(id, core::request_status::finished_stopped, stop);
        },
        [self](step_atom) { do_step(self); },
        [self](reset_atom) {
            // Between messages no step is being scheduled; blocks of requests in a
            // step in flight are held, so the reset then refuses.
            const bool done = self->state.sched->reset_prefix_cache();
            report_state(self);
            return done;
        },
        [self](worker_atom, int32_t index, worker_actor& w) {
            const auto& setup = self->state.cfg;
            auto i = static_cast<size_t>(index);
            if (i >= self->state.stages.size()) return;
            self->request(w, setup.reconnect_setup_timeout, setup_atom_v, setup.stages[i])
                .then(
                    [self, i, w](const worker_info&) {
                        auto& st = self->state;
                        st.stages[i] = w;
                        st.stage_up[i] = true;
                        self->monitor(w);
                        if (st.healthy()) st.health_message.clear();
                        report_state(self);
                        queue_step(self);
                    },
                    [self, i](caf::error& err) {
                        auto& st = self->state;
                        st.health_message =
                            "worker " + std::to_string(i) +
                            " came back but setup failed: " + self->system().render(err);
                        if (st.connector)
                            self->send(st.connector, worker_atom_v, static_cast<int32_t>(i));
                    });
        },
    };
}

}  // namespace

scheduler_actor spawn_scheduler(caf::actor_system& sys, scheduler_actor_config cfg,
                                std::vector<worker_actor> stages, kv_cache_actor kv,
                                connector_actor connector, scheduler_threading threading) {
    // With remote workers it must be scheduled: a detached actor that a remote
    // node still holds a proxy of keeps ~actor_system() waiting for its thread.
    // With local workers a private thread saves the pool wake-up on every step
    // (bench-actor-hop: ~20 vs ~65 µs per step at one running request).
    if (threading == scheduler_threading::detached)
        return sys.spawn<caf::detached>(scheduler_impl, std::move(cfg), std::move(stages),
                                        std::move(kv), std::move(connector));
    return sys.spawn(scheduler_impl, std::move(cfg), std::move(stages), std::move(kv),
                     std::move(connector));
}

std::string setup_workers(caf::actor_system& sys, const std::vector<worker_actor>& stages,
                          const std::vector<worker_setup>& setups,
                          std::chrono::milliseconds timeout, std::vector<worker_info>* infos) {
    caf::scoped_actor self{sys};
    std::string failure;
    if (infos) infos->clear();
    for (size_t i = 0; i < stages.size() && failure.empty(); ++i) {
        self->request(stages[i], timeout, setup_atom_v, setups[i])
            .receive(
                [&](const worker_info& info) {
                    if (infos) infos->push_back(info);
                },
                [&](caf::error& err) {
                    failure = "worker " + std::to_string(i) + " setup failed: " + sys.render(err);
                });
    }
    return failure;
}

}  // namespace actorlm::actors

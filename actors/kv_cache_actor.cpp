// KV-cache actor implementation.
#include "actors/kv_cache_actor.hpp"

namespace actorlm::actors {

namespace {

struct kv_state {
    kv_state() = default;  // not an aggregate: CAF probes State(self)
    kv_step_report last;
    static inline const char* name = "actorlm.kv_cache";
};

kv_cache_actor::behavior_type kv_impl(kv_cache_actor::stateful_pointer<kv_state> self,
                                      int32_t num_blocks) {
    self->state.last.num_blocks = num_blocks;  // answers queries before the first report
    return {
        // Reports from one scheduler arrive in order (CAF keeps per-sender order), so
        // the newest is always the last one received.
        [self](kv_atom, kv_step_report& r) { self->state.last = std::move(r); },
        [self](kv_atom) { return self->state.last; },
        [self](stats_atom) { return stats_of(self->state.last); },
    };
}

}  // namespace

engine_stats stats_of(const kv_step_report& r) {
    engine_stats s;
    s.num_requests_running = r.num_running;
    s.num_requests_waiting = r.num_waiting;
    s.kv_cache_usage = r.usage;
    s.prompt_tokens_total = r.prompt_tokens;
    s.generation_tokens_total = r.generation_tokens;
    s.prefix_cache_queries_total = r.prefix_queries;
    s.prefix_cache_hits_total = r.prefix_hits;
    s.num_preemptions_total = r.num_preemptions;
    s.healthy = r.healthy;
    s.health_message = r.health_message;
    return s;
}

kv_cache_actor spawn_kv_cache_actor(caf::actor_system& sys, int32_t num_blocks) {
    // (An argument-less spawn also trips UBSan inside CAF 0.17's init_fun_factory,
    // which dereferences an empty argument tuple.)
    return sys.spawn(kv_impl, num_blocks);
}

}  // namespace actorlm::actors

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
        [self](stats_atom) { return self->state.last.stats; },
    };
}

}  // namespace

kv_cache_actor spawn_kv_cache_actor(caf::actor_system& sys, int32_t num_blocks) {
    // (An argument-less spawn also trips UBSan inside CAF 0.17's init_fun_factory,
    // which dereferences an empty argument tuple.)
    return sys.spawn(kv_impl, num_blocks);
}

}  // namespace actorlm::actors

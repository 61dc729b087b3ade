// KV-cache actor implementation.
#include "actors/kv_cache_actor.hpp"

#include <algorithm>

namespace actorlm::actors {

namespace {

struct kv_state {
    kv_state() = default;  // not an aggregate: CAF probes State(self)
    kv_step_report last;
    scheduler_actor scheduler;  // owner of the block tables
    std::vector<kv_event_subscriber> subscribers;
    static inline const char* name = "actorlm.kv_cache";
};

kv_cache_actor::behavior_type kv_impl(kv_cache_actor::stateful_pointer<kv_state> self,
                                      int32_t num_blocks) {
    self->state.last.num_blocks = num_blocks;  // answers queries before the first report
    self->set_down_handler([self](caf::down_msg& dm) {
        auto& subs = self->state.subscribers;
        subs.erase(
            std::remove_if(subs.begin(), subs.end(),
                           [&](const kv_event_subscriber& s) { return s.address() == dm.source; }),
            subs.end());
    });
    return {
        // Reports from one scheduler arrive in order (CAF keeps per-sender order), so
        // the newest is always the last one received; its events go to every
        // subscriber in that order too.
        [self](kv_atom, kv_step_report& r) {
            auto& st = self->state;
            if (!r.events.empty())
                for (const auto& s : st.subscribers) self->send(s, kv_events_atom_v, r.events);
            r.events.clear();
            st.last = std::move(r);
        },
        [self](subscribe_atom, kv_event_subscriber& s) {
            self->monitor(s);
            self->state.subscribers.push_back(std::move(s));
        },
        [self](stats_atom) { return self->state.last.stats; },
        [self](setup_atom, scheduler_actor& s) { self->state.scheduler = std::move(s); },
        // The block tables live with the scheduler (see the header): the reset runs
        // there, between its messages, and the answer comes back through here.
        [self](reset_atom) -> caf::result<bool> {
            auto& st = self->state;
            if (!st.scheduler)
                return caf::make_error(engine_errc::unhealthy, "the engine has no scheduler");
            auto rp = self->make_response_promise<bool>();
            self->request(st.scheduler, std::chrono::seconds(30), reset_atom_v)
                .then([rp](bool done) mutable { rp.deliver(done); },
                      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
            return rp;
        },
    };
}

}  // namespace

kv_cache_actor spawn_kv_cache_actor(caf::actor_system& sys, int32_t num_blocks) {
    // (An argument-less spawn also trips UBSan inside CAF 0.17's init_fun_factory,
    // which dereferences an empty argument tuple.)
    return sys.spawn(kv_impl, num_blocks);
}

}  // namespace actorlm::actors

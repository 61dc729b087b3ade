// KV-cache actor implementation.
#include "actors/kv_cache_actor.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "actors/kv_transfer_actor.hpp"

namespace actorlm::actors {

namespace {

struct kv_state {
    kv_state() = default;  // not an aggregate: CAF probes State(self)
    kv_step_report last;
    scheduler_actor scheduler;  // owner of the block tables
    std::vector<kv_event_subscriber> subscribers;
    // The device prefix cache's blocks as its events tell (with KV events on), for
    // snapshots: a router that comes later learns what is cached without waiting for reuse.
    kv::block_hash_set device_blocks;
    // The engine's KV connector: both sides share its tiers (and their I/O threads);
    // the worker and the scheduler hold references while they run. The worker shuts
    // its side down before it frees its cache; the tiers drain their queued saves and
    // join their threads when the last reference goes.
    std::shared_ptr<kv::kv_connector_scheduler> connector_scheduler;
    std::shared_ptr<kv::kv_connector_worker> connector_worker;
    // A connector that hands KV to other engines moves its bytes through this actor.
    kv_transfer_actor transfer;
    static inline const char* name = "actorlm.kv_cache";
};

/// How long a worker may take to register the connector with its cache.
constexpr auto k_connector_install_timeout = std::chrono::seconds(60);

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
            kv::apply_kv_events(st.device_blocks, r.events, "device");
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
        [self](kv_events_atom) {
            const auto& blocks = self->state.device_blocks;
            std::vector<kv::kv_event> snapshot(2);
            snapshot[0].type = kv::kv_event::kind::all_blocks_cleared;
            snapshot[0].medium = "device";
            snapshot[1].type = kv::kv_event::kind::block_stored;
            snapshot[1].medium = "device";
            snapshot[1].block_hashes.assign(blocks.begin(), blocks.end());
            return snapshot;
        },
        [self](setup_atom, scheduler_actor& s) { self->state.scheduler = std::move(s); },
        // Builds the connector named in the config, installs its worker side on the
        // worker and answers with its scheduler side once the worker has it.
        [self](setup_atom, kv_connector_setup& setup,
               worker_actor& worker) -> caf::result<kv_connector_handoff> {
            auto& st = self->state;
            if (st.connector_scheduler)
                return caf::make_error(engine_errc::bad_setup,
                                       "the KV connector is already set up");
            auto pair = kv::make_kv_connector(setup.config, setup.context);
            if (!pair) return caf::make_error(engine_errc::bad_setup, pair.message());
            st.connector_scheduler = std::move(pair->scheduler);
            st.connector_worker = std::move(pair->worker);
            if (pair->transfer) st.transfer = spawn_kv_transfer_actor(self, pair->transfer);
            auto rp = self->make_response_promise<kv_connector_handoff>();
            self->request(worker, k_connector_install_timeout, kv_atom_v,
                          kv_connector_install{st.connector_worker})
                .then(
                    [self, rp](bool) mutable {
                        rp.deliver(kv_connector_handoff{self->state.connector_scheduler});
                    },
                    [self, rp](caf::error& err) mutable {
                        // Nothing uses a connector the worker refused: drop it here.
                        self->state.connector_worker->shutdown();
                        self->state.connector_worker.reset();
                        self->state.connector_scheduler.reset();
                        rp.deliver(caf::make_error(
                            engine_errc::bad_setup,
                            "KV connector: the worker refused it: " + self->system().render(err)));
                    });
            return rp;
        },
        [self](kv_pull_atom, std::string& transfer, int32_t first,
               std::vector<core::block_hash>& expected,
               int64_t payload) -> caf::result<std::vector<char>, int32_t> {
            if (!self->state.transfer)
                return caf::make_error(engine_errc::bad_setup,
                                       "this engine keeps no KV for others (its "
                                       "kv_transfer_config has no PeerConnector)");
            return self->delegate(self->state.transfer, kv_pull_atom_v, std::move(transfer),
                                  first, std::move(expected), payload);
        },
        [self](kv_stream_atom, std::string& transfer, int32_t first,
               std::vector<core::block_hash>& expected,
               int64_t payload) -> caf::result<uint16_t, std::string, int32_t> {
            if (!self->state.transfer)
                return caf::make_error(engine_errc::bad_setup,
                                       "this engine keeps no KV for others (its "
                                       "kv_transfer_config has no PeerConnector)");
            return self->delegate(self->state.transfer, kv_stream_atom_v, std::move(transfer),
                                  first, std::move(expected), payload);
        },
        [self](release_atom, std::string& transfer) {
            if (self->state.transfer)
                self->send(self->state.transfer, release_atom_v, std::move(transfer));
        },
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

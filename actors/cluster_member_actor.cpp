// Cluster member actor implementation.
#include "actors/cluster_member_actor.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

namespace actorlm::actors {

namespace {

/// One client request running here.
struct member_stream {
    std::string engine_request_id;  // unique in this engine
    // Sequences that have not ended yet; the delta callback counts it down.
    std::shared_ptr<std::atomic<int32_t>> remaining;
    bool done() const { return remaining->load() <= 0; }
};

struct member_state {
    member_state() = default;  // not an aggregate: CAF probes State(self)
    frontend_actor frontend;
    kv_cache_actor kv;
    model_info info;
    uint64_t next_serial = 0;
    std::set<caf::actor_addr> monitored;            // clients, watched once each
    std::vector<cluster_client_actor> subscribers;  // of this engine's KV events
    bool relaying = false;                          // subscribed to the KV-cache actor
    // Requests by (client, stream); ended ones are dropped on the next submission.
    std::map<std::pair<caf::actor_addr, uint64_t>, member_stream> streams;
    static inline const char* name = "actorlm.cluster_member";
};

using member_self_ptr = cluster_member_actor::stateful_pointer<member_state>;

caf::actor_addr sender_of(member_self_ptr self) {
    return caf::actor_cast<caf::actor_addr>(self->current_sender());
}

void submit(member_self_ptr self, uint64_t stream, generate_request req) {
    auto& st = self->state;
    auto client = caf::actor_cast<cluster_client_actor>(self->current_sender());
    if (!client) {  // anonymous: nobody to stream its deltas to
        std::fprintf(stderr,
                     "actorlm: cluster member: dropped request '%s' sent without a sender\n",
                     req.request_id.c_str());
        return;
    }
    const caf::actor_addr addr = client.address();
    if (st.monitored.insert(addr).second) self->monitor(client);
    for (auto it = st.streams.begin(); it != st.streams.end();)
        it = it->second.done() ? st.streams.erase(it) : std::next(it);

    // Clients (routers) number their own requests, so two may pick the same id; the
    // engine's must be unique. Deltas go back under the client's id.
    const std::string client_id = req.request_id;
    member_stream s;
    s.engine_request_id = client_id + "@cluster-" + std::to_string(st.next_serial++);
    s.remaining = std::make_shared<std::atomic<int32_t>>(std::max(req.params.n, 1));
    req.request_id = s.engine_request_id;
    // Runs on the frontend's thread: one sender, so the client gets them in order.
    auto on_delta = [client, stream, client_id, remaining = s.remaining](const output_delta& d) {
        output_delta out = d;
        out.request_id = client_id;
        caf::anon_send(client, delta_atom_v, stream, std::vector<output_delta>{std::move(out)});
        if (d.finished()) remaining->fetch_sub(1);
    };
    st.streams[{addr, stream}] = std::move(s);
    self->send(st.frontend, submit_atom_v, submission{std::move(req), std::move(on_delta)});
}

cluster_member_actor::behavior_type member_impl(member_self_ptr self, frontend_actor frontend,
                                                kv_cache_actor kv, model_info info) {
    self->state.frontend = std::move(frontend);
    self->state.kv = std::move(kv);
    self->state.info = std::move(info);
    // A client that is gone cannot read its deltas: its requests stop here.
    self->set_down_handler([self](caf::down_msg& dm) {
        auto& st = self->state;
        st.monitored.erase(dm.source);
        std::erase_if(st.subscribers, [&](const auto& s) { return s.address() == dm.source; });
        for (auto it = st.streams.begin(); it != st.streams.end();) {
            if (it->first.first != dm.source) {
                ++it;
                continue;
            }
            if (!it->second.done())
                self->send(st.frontend, abort_atom_v, it->second.engine_request_id);
            it = st.streams.erase(it);
        }
    });
    return {
        [self](generate_atom, uint64_t stream, generate_request& req) {
            submit(self, stream, std::move(req));
        },
        [self](abort_atom, uint64_t stream) {
            auto& st = self->state;
            auto it = st.streams.find({sender_of(self), stream});
            if (it != st.streams.end() && !it->second.done())
                self->send(st.frontend, abort_atom_v, it->second.engine_request_id);
        },
        [self](migrate_atom, uint64_t stream) {
            auto& st = self->state;
            auto it = st.streams.find({sender_of(self), stream});
            if (it != st.streams.end() && !it->second.done())
                self->send(st.frontend, migrate_atom_v, it->second.engine_request_id);
        },
        [self](precopy_atom, uint64_t stream) -> caf::result<kv_transfer_params> {
            auto& st = self->state;
            auto it = st.streams.find({sender_of(self), stream});
            if (it == st.streams.end() || it->second.done())
                return caf::make_error(engine_errc::no_snapshot, "the stream has ended");
            return self->delegate(st.frontend, precopy_atom_v, it->second.engine_request_id);
        },
        [self](stats_atom) { return self->delegate(self->state.kv, stats_atom_v); },
        [self](kv_pull_atom, std::string& transfer, int32_t first,
               std::vector<core::block_hash>& expected, int64_t payload) {
            return self->delegate(self->state.kv, kv_pull_atom_v, std::move(transfer), first,
                                  std::move(expected), payload);
        },
        [self](kv_stream_atom, std::string& transfer, int32_t first,
               std::vector<core::block_hash>& expected, int64_t payload) {
            return self->delegate(self->state.kv, kv_stream_atom_v, std::move(transfer), first,
                                  std::move(expected), payload);
        },
        [self](release_atom, std::string& transfer) {
            self->send(self->state.kv, release_atom_v, std::move(transfer));
        },
        [self](info_atom) { return self->state.info; },
        [self](subscribe_atom) {
            auto& st = self->state;
            auto subscriber = caf::actor_cast<cluster_client_actor>(self->current_sender());
            if (!subscriber) return;
            if (st.monitored.insert(subscriber.address()).second) self->monitor(subscriber);
            if (!st.relaying) {
                st.relaying = true;
                self->send(st.kv, subscribe_atom_v, caf::actor_cast<kv_event_subscriber>(self));
            }
            // What is cached now first, then every change: the KV-cache actor answers in
            // order with the events it sends, so the new subscriber joins the relay exactly
            // where its snapshot ends (a router restarted later rebuilds its index).
            self->request(st.kv, std::chrono::seconds(10), kv_events_atom_v)
                .then(
                    [self, subscriber](std::vector<kv::kv_event>& snapshot) {
                        self->send(subscriber, kv_events_atom_v, std::move(snapshot));
                        self->state.subscribers.push_back(subscriber);
                    },
                    [self, subscriber](caf::error&) {
                        self->state.subscribers.push_back(subscriber);
                    });
        },
        [self](kv_events_atom, const std::vector<kv::kv_event>& events) {
            for (const auto& s : self->state.subscribers) self->send(s, kv_events_atom_v, events);
        },
    };
}

}  // namespace

cluster_member_actor spawn_cluster_member(caf::actor_system& sys, frontend_actor frontend,
                                          kv_cache_actor kv, model_info info) {
    return sys.spawn(member_impl, std::move(frontend), std::move(kv), std::move(info));
}

}  // namespace actorlm::actors

// connector actor implementation.
#include "actors/connector_actor.hpp"

#include "actors/node_tls.hpp"
#include "base/host_port.hpp"

#include <caf/io/all.hpp>

#include <chrono>

namespace actorlm::actors {

bool parse_worker_address(const std::string& text, worker_address* out, std::string* error) {
    auto hp = parse_host_port(text);
    if (!hp) {
        *error = "worker address " + hp.message();
        return false;
    }
    out->host = hp->host;
    out->port = hp->port;
    return true;
}

namespace {

struct connector_state {
    connector_state() = default;  // not an aggregate: CAF probes State(self)
    std::vector<worker_address> addresses;
    caf::strong_actor_ptr scheduler;
    static inline const char* name = "actorlm.connector";
};

connector_actor::behavior_type connector_impl(
    connector_actor::stateful_pointer<connector_state> self, std::vector<worker_address> addrs) {
    self->state.addresses = std::move(addrs);
    return {
        [self](worker_atom, int32_t index) {
            auto& st = self->state;
            if (self->current_sender() && !st.scheduler) st.scheduler = self->current_sender();
            auto i = static_cast<size_t>(index);
            if (i >= st.addresses.size() || !st.scheduler) return;
            const auto& a = st.addresses[i];
            // The middleman's asynchronous connect: this actor never blocks, so it
            // can always take its exit message (a blocking remote_actor to a half-
            // alive peer could hold engine shutdown).
            auto mm = node_connector(self->system());
            auto retry = [self, index] {
                // Not back yet: try again in a second (the scheduler stays unhealthy).
                self->delayed_send(self, std::chrono::seconds(1), worker_atom_v, index);
            };
            self->request(mm, std::chrono::seconds(3), caf::connect_atom::value, a.host, a.port)
                .then(
                    [self, index, retry](const caf::node_id&, caf::strong_actor_ptr& ptr,
                                         const std::set<std::string>&) {
                        if (!ptr) return retry();
                        auto sched = caf::actor_cast<scheduler_actor>(self->state.scheduler);
                        self->send(sched, worker_atom_v, index,
                                   caf::actor_cast<worker_actor>(std::move(ptr)));
                    },
                    [retry](caf::error&) { retry(); });
        },
    };
}

}  // namespace

connector_actor spawn_connector(caf::actor_system& sys, std::vector<worker_address> addresses) {
    return sys.spawn(connector_impl, std::move(addresses));
}

}  // namespace actorlm::actors

// connector actor implementation.
#include "actors/connector_actor.hpp"

#include <caf/io/all.hpp>

#include <chrono>

namespace actorlm::actors {

bool parse_worker_address(const std::string& text, worker_address* out, std::string* error) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
        *error = "worker address '" + text + "' is not HOST:PORT";
        return false;
    }
    const std::string port = text.substr(colon + 1);
    char* end = nullptr;
    long value = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || value <= 0 || value > 65535) {
        *error = "worker address '" + text + "' has an invalid port";
        return false;
    }
    out->host = text.substr(0, colon);
    out->port = static_cast<uint16_t>(value);
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
            auto w = self->system().middleman().remote_actor<worker_actor>(a.host, a.port);
            auto sched = caf::actor_cast<scheduler_actor>(st.scheduler);
            if (w) {
                self->send(sched, worker_atom_v, index, *w);
            } else {
                // Not back yet: try again in a second (the scheduler stays unhealthy).
                self->delayed_send(self, std::chrono::seconds(1), worker_atom_v, index);
            }
        },
    };
}

}  // namespace

connector_actor spawn_connector(caf::actor_system& sys, std::vector<worker_address> addresses) {
    return sys.spawn<caf::detached>(connector_impl, std::move(addresses));
}

}  // namespace actorlm::actors

// frontend actor implementation.
#include "actors/frontend_actor.hpp"

#include <unordered_map>

#include "core/parent_request.hpp"

namespace actorlm::actors {

namespace {

struct frontend_state {
    frontend_state() = default;  // not an aggregate: CAF probes State(self)
    struct live_request {
        uint64_t serial = 0;
        delta_callback on_delta;
        core::parent_request parent;  // which of the n sequences still run
    };
    // An engine that shuts down with requests in flight still ends every one of
    // them, so no stream or HTTP connection waits forever.
    ~frontend_state();
    detokenizer_actor detokenizer;
    std::unordered_map<std::string, live_request> live;
    uint64_t next_serial = 1;
    static inline const char* name = "actorlm.frontend";
};

using frontend_self_ptr = frontend_actor::stateful_pointer<frontend_state>;

void deliver(const delta_callback& cb, const output_delta& d) {
    try {
        cb(d);
    } catch (...) {
        // A throwing callback is the embedder's bug; it must not kill the frontend.
    }
}

frontend_state::~frontend_state() {
    for (auto& [id, req] : live) {
        for (int32_t i : req.parent.running_indices()) {
            output_delta d;
            d.request_id = id;
            d.index = i;
            d.finish = finish_reason::error;
            d.error = "the engine shut down before the request finished";
            deliver(req.on_delta, d);
        }
    }
}

frontend_actor::behavior_type frontend_impl(frontend_self_ptr self, detokenizer_actor detokenizer) {
    self->state.detokenizer = std::move(detokenizer);
    return {
        [self](submit_atom, submission& sub) {
            auto& st = self->state;
            const std::string& id = sub.request.request_id;
            if (st.live.count(id) != 0) {
                output_delta d;
                d.request_id = id;
                d.finish = finish_reason::error;
                d.error = "request id '" + id + "' is already in use";
                d.error_kind = error_kind::invalid_argument;
                deliver(sub.on_delta, d);
                return;
            }
            const uint64_t serial = st.next_serial++;
            st.live.emplace(
                id, frontend_state::live_request{serial, sub.on_delta,
                                                 core::parent_request(id, sub.request.params)});
            self->send(st.detokenizer, submit_atom_v, serial, std::move(sub));
        },
        [self](abort_atom, const std::string& id) {
            auto& st = self->state;
            auto it = st.live.find(id);
            if (it == st.live.end()) return;  // finished already
            self->send<caf::message_priority::high>(st.detokenizer, abort_atom_v, it->second.serial,
                                                    id);
        },
        [self](migrate_atom, const std::string& id) {
            auto& st = self->state;
            auto it = st.live.find(id);
            if (it == st.live.end()) return;  // finished already
            self->send<caf::message_priority::high>(st.detokenizer, migrate_atom_v,
                                                    it->second.serial, id);
        },
        [self](precopy_atom, const std::string& id) -> caf::result<kv_transfer_params> {
            auto& st = self->state;
            if (!st.live.count(id))
                return caf::make_error(engine_errc::no_snapshot, "request " + id + " has ended");
            return self->delegate(st.detokenizer, precopy_atom_v, id);
        },
        [self](outputs_atom, delta_batch& batch) {
            auto& st = self->state;
            for (const auto& d : batch.deltas) {
                auto it = st.live.find(d.request_id);
                if (it == st.live.end()) continue;
                auto& parent = it->second.parent;
                // One final delta per sequence reaches the callback; anything for a
                // sequence that already ended (a late duplicate) is dropped.
                if (!parent.running(d.index)) continue;
                deliver(it->second.on_delta, d);
                if (d.finished() && parent.finish_child(d.index) && parent.finished())
                    st.live.erase(it);
            }
        },
    };
}

}  // namespace

frontend_actor spawn_frontend(caf::actor_system& sys, detokenizer_actor detokenizer) {
    return sys.spawn(frontend_impl, std::move(detokenizer));
}

}  // namespace actorlm::actors

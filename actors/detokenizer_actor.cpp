// detokenizer actor implementation: a thin shell over core::prompt_builder
// (text in) and core::output_processor (text out).
#include "actors/detokenizer_actor.hpp"

#include <unordered_map>

#include "chat/chat_template.hpp"
#include "core/output_processor.hpp"
#include "core/prompt_builder.hpp"
#include "core/sampling_params_check.hpp"

namespace actorlm::actors {

namespace {

struct detokenizer_state {
    detokenizer_state() = default;  // not an aggregate: CAF probes State(self)
    std::shared_ptr<const tokenizer> tok;
    std::shared_ptr<const chat_template> chat;
    detokenizer_config cfg;
    scheduler_actor scheduler;
    std::unique_ptr<core::output_processor> outputs;
    caf::strong_actor_ptr frontend;
    // Serial of each request the output processor still knows (which owns the
    // request's parent_request and with it the ids of its running sequences).
    std::unordered_map<std::string, uint64_t> serials;  // by request id
    uint64_t highest_serial = 0;
    std::unordered_map<uint64_t, std::string> early_aborts;  // overtook their submission
    static inline const char* name = "actorlm.detokenizer";
};

using detokenizer_self_ptr = detokenizer_actor::stateful_pointer<detokenizer_state>;

void to_frontend(detokenizer_self_ptr self, std::vector<output_delta> deltas) {
    auto& st = self->state;
    if (deltas.empty() || !st.frontend) return;
    for (const auto& d : deltas)
        if (d.finished() && !st.outputs->has_request(d.request_id)) st.serials.erase(d.request_id);
    self->send(caf::actor_cast<frontend_actor>(st.frontend), outputs_atom_v,
               delta_batch{std::move(deltas)});
}

/// An error delta for a request that never reached the scheduler: its prompt
/// could not be built (template, tokenizer, length), which is the request's fault.
void reject(detokenizer_self_ptr self, const generate_request& req, const std::string& why) {
    std::vector<output_delta> deltas;
    for (int32_t k = 0; k < std::max(req.params.n, 1); ++k) {
        output_delta d;
        d.request_id = req.request_id;
        d.index = k;
        d.finish = finish_reason::error;
        d.error = why;
        d.error_kind = error_kind::invalid_argument;
        deltas.push_back(std::move(d));
    }
    auto& st = self->state;
    if (st.frontend)
        self->send(caf::actor_cast<frontend_actor>(st.frontend), outputs_atom_v,
                   delta_batch{std::move(deltas)});
}

void submit(detokenizer_self_ptr self, uint64_t serial, submission& sub) {
    auto& st = self->state;
    st.highest_serial = std::max(st.highest_serial, serial);
    const generate_request& req = sub.request;
    if (st.early_aborts.erase(serial) != 0) {
        output_delta d;
        d.request_id = req.request_id;
        d.finish = finish_reason::abort;
        std::vector<output_delta> ds;
        for (int32_t k = 0; k < std::max(req.params.n, 1); ++k) {
            d.index = k;
            ds.push_back(d);
        }
        self->send(caf::actor_cast<frontend_actor>(st.frontend), outputs_atom_v,
                   delta_batch{std::move(ds)});
        return;
    }
    // The parent's params, before the fan-out gives each child n = 1 (the scheduler then
    // checks the children): n itself, and what n may be for a pooling request.
    if (auto ok = core::validate_sampling_params(req.params, 0); !ok)
        return reject(self, req, ok.message());
    // A prompt the server prepared for its context check (engine::prepare_prompt) comes
    // back as it is: its images are not looked up, decoded or resized again here.
    auto prompt = core::build_prompt(req, *st.tok, st.chat.get(), st.cfg.images.get());
    if (!prompt) return reject(self, req, prompt.message());
    const core::parent_request parent(req.request_id, req.params);
    // The frontend refuses ids in use, so a live id here is an engine bug; refuse it
    // rather than mix two requests' sequences.
    if (!st.outputs->add_request(parent, prompt->token_ids, req.resume_output_token_ids))
        return reject(self, req, "request id '" + req.request_id + "' is already in use");
    auto specs = core::expand_sequences(parent, req, prompt->token_ids, st.cfg.eos_token_ids,
                                        prompt->mm_features);
    st.serials[req.request_id] = serial;
    self->send(st.scheduler, submit_atom_v, serial, sequence_specs{std::move(specs)});
}

void on_outputs(detokenizer_self_ptr self, step_outputs& so) {
    auto& st = self->state;
    core::processed_outputs p = st.outputs->process(so.outputs);
    for (const auto& [child, stop] : p.stopped_by_string)
        self->send<caf::message_priority::high>(st.scheduler, finish_atom_v, child, stop);
    for (const ended_sequence& e : so.ended)
        if (auto d = st.outputs->finish_sequence(e.id, e.reason, e.error)) {
            d->kv_transfer = e.kv_transfer;
            if (e.reason == finish_reason::error) d->error_kind = e.kind;
            p.deltas.push_back(std::move(*d));
        }
    to_frontend(self, std::move(p.deltas));
}

detokenizer_actor::behavior_type detokenizer_impl(detokenizer_self_ptr self,
                                                  std::shared_ptr<const tokenizer> tok,
                                                  std::shared_ptr<const chat_template> chat,
                                                  detokenizer_config cfg,
                                                  scheduler_actor scheduler) {
    auto& init = self->state;  // (lambdas below take their own reference)
    init.tok = std::move(tok);
    init.chat = std::move(chat);
    init.cfg = std::move(cfg);
    init.scheduler = std::move(scheduler);
    init.outputs = std::make_unique<core::output_processor>(*init.tok);
    return {
        [self](submit_atom, uint64_t serial, submission& sub) {
            if (!self->state.frontend) self->state.frontend = self->current_sender();
            submit(self, serial, sub);
        },
        [self](abort_atom, uint64_t serial, const std::string& request_id) {
            auto& st = self->state;
            auto it = st.serials.find(request_id);
            if (it != st.serials.end()) {
                self->send<caf::message_priority::high>(st.scheduler, abort_atom_v, it->second,
                                                        st.outputs->running_children(request_id));
            } else if (serial > st.highest_serial) {
                st.early_aborts[serial] = request_id;  // its submission is still queued
            }
        },
        [self](migrate_atom, uint64_t serial, const std::string& request_id) {
            auto& st = self->state;
            auto it = st.serials.find(request_id);
            if (it != st.serials.end())
                self->send<caf::message_priority::high>(st.scheduler, migrate_atom_v,
                                                        st.outputs->running_children(request_id));
            else if (serial > st.highest_serial)
                st.early_aborts[serial] = request_id;  // not started: nothing to keep
        },
        [self](precopy_atom, const std::string& request_id) -> caf::result<kv_transfer_params> {
            auto& st = self->state;
            auto children = st.serials.count(request_id) != 0
                                ? st.outputs->running_children(request_id)
                                : std::vector<std::string>{};
            if (children.size() != 1)  // one sequence's KV moves; n > 1 does not migrate
                return caf::make_error(engine_errc::no_snapshot,
                                       "request " + request_id + " is not one running sequence");
            return self->delegate(st.scheduler, precopy_atom_v, std::move(children.front()));
        },
        [self](outputs_atom, step_outputs& so) { on_outputs(self, so); },
    };
}

}  // namespace

detokenizer_actor spawn_detokenizer(caf::actor_system& sys, std::shared_ptr<const tokenizer> tok,
                                    std::shared_ptr<const chat_template> chat,
                                    detokenizer_config cfg, scheduler_actor scheduler) {
    return sys.spawn(detokenizer_impl, std::move(tok), std::move(chat), std::move(cfg),
                     std::move(scheduler));
}

}  // namespace actorlm::actors

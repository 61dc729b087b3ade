// output_processor implementation. Text flows detokenizer -> stop matcher ->
// delta; when the scheduler ends a sequence by token, the held-back text of
// both is flushed into that last delta. A sequence's final delta ends it in its
// parent_request; the request is forgotten with its last one. A step may bring
// several tokens (speculative decoding): they are fed one at a time, so a stop string
// completed by one of them drops the tokens after it from the delta.
#include "core/output_processor.hpp"

namespace actorlm::core {

bool output_processor::add_request(const parent_request& parent,
                                   const std::vector<int32_t>& prompt_token_ids,
                                   const std::vector<int32_t>& resumed) {
    if (parents_.count(parent.request_id()) != 0) return false;
    const actorlm::sampling_params& params = parent.params();
    detokenizer_options o;
    o.skip_special_tokens = params.skip_special_tokens;
    o.spaces_between_special_tokens = params.spaces_between_special_tokens;
    // The prompt's last tokens give the first output token its leading-space context.
    const size_t ctx = std::min<size_t>(prompt_token_ids.size(), 4);
    const auto tail =
        std::span<const int32_t>(prompt_token_ids).subspan(prompt_token_ids.size() - ctx);
    for (int32_t k = 0; k < parent.n(); ++k) {
        sequence s;
        s.parent_id = parent.request_id();
        s.index = k;
        s.detok = std::make_unique<incremental_detokenizer>(tok_, o, tail);
        s.stops = std::make_unique<stop_matcher>(params.stop, params.include_stop_str_in_output);
        if (!resumed.empty()) {
            // The same state the engine that produced them reached: what they emitted was
            // streamed there; text held back (a partial stop string) stays held here.
            (void)s.stops->feed(s.detok->push(resumed));
            s.num_output_tokens = static_cast<int32_t>(resumed.size());
        }
        seqs_[parent.child_id(k)] = std::move(s);
    }
    parents_.emplace(parent.request_id(), live_request{parent, prompt_token_ids});
    return true;
}

std::vector<std::string> output_processor::running_children(const std::string& request_id) const {
    auto it = parents_.find(request_id);
    if (it == parents_.end()) return {};
    return it->second.parent.running_child_ids();
}

void output_processor::end_sequence(sequence_map::iterator it) {
    auto p = parents_.find(it->second.parent_id);
    if (p != parents_.end()) {
        p->second.parent.finish_child(it->second.index);
        if (p->second.parent.finished()) parents_.erase(p);
    }
    seqs_.erase(it);
}

actorlm::token_logprob output_processor::to_public(const position_logprobs& lp) const {
    actorlm::token_logprob t;
    t.token_id = lp.token_ids[0];
    t.text = tok_.token_to_piece(lp.token_ids[0]);
    t.logprob = lp.logprobs[0];
    for (size_t i = 1; i < lp.token_ids.size(); ++i)
        t.top.push_back(actorlm::top_logprob{lp.token_ids[i], tok_.token_to_piece(lp.token_ids[i]),
                                             lp.logprobs[i]});
    return t;
}

processed_outputs output_processor::process(const std::vector<request_output>& outs) {
    processed_outputs res;
    for (const request_output& o : outs) {
        auto it = seqs_.find(o.req_id);
        if (it == seqs_.end()) continue;
        sequence& s = it->second;
        actorlm::output_delta d;
        d.request_id = s.parent_id;
        d.index = s.index;
        d.token_ids = o.new_token_ids;
        d.num_prompt_tokens = o.num_prompt_tokens;
        s.num_output_tokens = o.num_output_tokens;
        d.num_output_tokens = o.num_output_tokens;
        d.queued_seconds = o.queued_seconds;
        d.embedding = o.embedding;
        for (const auto& lp : o.logprobs) d.logprobs.push_back(to_public(lp));
        for (const auto& plp : o.prompt_logprobs)
            d.prompt_logprobs.push_back(plp ? std::optional(to_public(*plp)) : std::nullopt);
        if (s.first) {
            if (auto p = parents_.find(s.parent_id); p != parents_.end())
                d.prompt_token_ids = p->second.prompt_token_ids;
            s.first = false;
        }
        stop_step st;
        const size_t num_new = o.new_token_ids.size();
        size_t used = 0;
        do {
            // Token by token; a step without tokens (a final or prompt-logprobs-only
            // output) still flushes the detokenizer when it ends the sequence.
            std::string text =
                num_new == 0 ? std::string()
                             : s.detok->push(o.new_token_ids[used]);
            if (num_new != 0) ++used;
            if (o.finished() && used == num_new) text += s.detok->finish();
            stop_step part = s.stops->feed(text);
            st.text += part.text;
            st.stopped = part.stopped;
            st.matched = part.matched;
        } while (!st.stopped && used < num_new);
        if (used < num_new) {  // a stop string ended the sequence before these tokens
            const auto drop = static_cast<int32_t>(num_new - used);
            d.token_ids.resize(used);
            if (d.logprobs.size() > used) d.logprobs.resize(used);
            d.num_output_tokens -= drop;
            s.num_output_tokens -= drop;
        }
        d.text = std::move(st.text);
        bool done = o.finished();
        if (st.stopped) {
            d.finish = actorlm::finish_reason::stop;
            d.stop_reason = s.stops->matched_string();
            if (!o.finished()) res.stopped_by_string.emplace_back(o.req_id, d.stop_reason);
            done = true;
        } else if (o.finished()) {
            d.text += s.stops->finish();
            d.finish = to_finish_reason(o.status);
            d.stop_reason = o.stop_reason;
            if (o.status == request_status::finished_error) d.error = o.stop_reason;
        }
        if (done) d.kv_transfer = o.kv_transfer;
        res.deltas.push_back(std::move(d));
        if (done) end_sequence(it);
    }
    return res;
}

std::optional<actorlm::output_delta> output_processor::finish_sequence(
    const std::string& child_id, actorlm::finish_reason reason, const std::string& error) {
    auto it = seqs_.find(child_id);
    if (it == seqs_.end()) return std::nullopt;
    actorlm::output_delta d;
    d.request_id = it->second.parent_id;
    d.index = it->second.index;
    d.finish = reason;
    d.error = error;
    if (auto p = parents_.find(it->second.parent_id); p != parents_.end())
        d.num_prompt_tokens = static_cast<int32_t>(p->second.prompt_token_ids.size());
    d.num_output_tokens = it->second.num_output_tokens;
    end_sequence(it);
    return d;
}

std::vector<actorlm::output_delta> output_processor::finish_request(const std::string& request_id,
                                                                    actorlm::finish_reason reason,
                                                                    const std::string& error) {
    std::vector<actorlm::output_delta> out;
    for (const std::string& child : running_children(request_id))
        if (auto d = finish_sequence(child, reason, error)) out.push_back(std::move(*d));
    return out;
}

}  // namespace actorlm::core

// output_processor implementation. Text flows detokenizer -> stop matcher ->
// delta; when the scheduler ends a sequence by token, the held-back text of
// both is flushed into that last delta.
#include "core/output_processor.hpp"

namespace actorlm::core {

void output_processor::add_sequence(const std::string& parent_id, int32_t index,
                                    const std::string& child_id,
                                    const actorlm::sampling_params& params,
                                    const std::vector<int32_t>& prompt_token_ids) {
    sequence s;
    s.parent_id = parent_id;
    s.index = index;
    s.params = params;
    s.prompt_token_ids = prompt_token_ids;
    detokenizer_options o;
    o.skip_special_tokens = params.skip_special_tokens;
    o.spaces_between_special_tokens = params.spaces_between_special_tokens;
    // The prompt's last tokens give the first output token its leading-space context.
    const size_t ctx = std::min<size_t>(prompt_token_ids.size(), 4);
    s.detok = std::make_unique<incremental_detokenizer>(
        tok_, o,
        std::span<const int32_t>(prompt_token_ids).subspan(prompt_token_ids.size() - ctx));
    s.stops = std::make_unique<stop_matcher>(params.stop, params.include_stop_str_in_output);
    seqs_[child_id] = std::move(s);
}

actorlm::token_logprob output_processor::to_public(const position_logprobs& lp) const {
    actorlm::token_logprob t;
    t.token_id = lp.token_ids[0];
    t.text = tok_.token_to_piece(lp.token_ids[0]);
    t.logprob = lp.logprobs[0];
    for (size_t i = 1; i < lp.token_ids.size(); ++i)
        t.top.push_back(actorlm::top_logprob{
            lp.token_ids[i], tok_.token_to_piece(lp.token_ids[i]),
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
        for (const auto& lp : o.logprobs) d.logprobs.push_back(to_public(lp));
        for (const auto& plp : o.prompt_logprobs)
            d.prompt_logprobs.push_back(plp ? std::optional(to_public(*plp)) : std::nullopt);
        if (s.first) {
            d.prompt_token_ids = s.prompt_token_ids;
            s.first = false;
        }
        std::string text = s.detok->push(o.new_token_ids);
        if (o.finished()) text += s.detok->finish();
        stop_step st = s.stops->feed(text);
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
        res.deltas.push_back(std::move(d));
        if (done) seqs_.erase(it);
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
    d.num_prompt_tokens = static_cast<int32_t>(it->second.prompt_token_ids.size());
    d.num_output_tokens = it->second.num_output_tokens;
    seqs_.erase(it);
    return d;
}

}  // namespace actorlm::core

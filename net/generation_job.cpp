// generation_job: delta bookkeeping, streaming and final responses, error mapping
// (see generation_job.hpp). The first delta decides the HTTP status: a streamed
// response's headers are sent only once the engine accepted the request, so a
// prompt that is too long still gets a 400 instead of an error inside a 200 stream.
#include "net/generation_job.hpp"

#include "net/sse.hpp"

namespace actorlm::net {

namespace {

double seconds_between(std::chrono::steady_clock::time_point a,
                       std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

}  // namespace

// The engine says whose fault a failure was: the request's own (prompt too long,
// token id out of range): 400; capacity: 429; an engine that cannot serve now
// (unhealthy, shutting down): 503; anything else (a worker error): 500.
api_error map_engine_error(const output_delta& d) {
    const std::string msg = d.error.empty() ? "the engine failed the request" : d.error;
    switch (d.error_kind) {
        case error_kind::invalid_argument: return invalid_request(msg, "", "invalid_request");
        case error_kind::resource_exhausted: return too_many_requests(msg);
        case error_kind::unavailable: return service_unavailable(msg);
        case error_kind::none:
        case error_kind::internal: break;
    }
    return internal_error(msg);
}

generation_job::generation_job(inference_backend& backend, server_metrics& metrics,
                               std::shared_ptr<response_sink> sink, openai_request request,
                               response_context context,
                               std::shared_ptr<admission_control::ticket> slot,
                               chat_output_parsers parsers)
    : backend_(backend),
      metrics_(metrics),
      sink_(std::move(sink)),
      request_(std::move(request)),
      context_(std::move(context)),
      slot_(std::move(slot)),
      parsers_(std::move(parsers)),
      arrival_(clock::now()) {}

std::string generation_job::echo_text_for(const generate_request& req) {
    if (!request_.echo) return {};
    // A text prompt echoes as written (the router also fills in its token ids).
    if (!req.prompt.empty() || req.prompt_token_ids.empty()) return req.prompt;
    std::string text, error;
    if (!backend_.detokenize(req.prompt_token_ids, &text, &error)) return {};
    return text;
}

void generation_job::start() {
    const auto n = static_cast<size_t>(request_.prompts.front().params.n);
    prompts_.resize(request_.prompts.size());
    choices_.resize(request_.prompts.size() * n);
    for (size_t i = 0; i < choices_.size(); ++i) {
        choices_[i].out.index = static_cast<int32_t>(i);
        if (context_.kind == endpoint_kind::chat && parsers_.active())
            choices_[i].parser = std::make_unique<chat_output_stream>(
                parsers_.reasoning, parsers_.tools, parsers_.max_calls);
    }
    num_unfinished_ = choices_.size();
    for (size_t p = 0; p < request_.prompts.size(); ++p) {
        prompts_[p].echo_text = echo_text_for(request_.prompts[p]);
        prompts_[p].num_unfinished = static_cast<int32_t>(n);
        for (size_t s = 0; s < n; ++s) {
            auto& out = choices_[p * n + s].out;
            out.text = prompts_[p].echo_text;
            out.echo_length = out.text.size();
        }
    }
    auto self = shared_from_this();
    sink_->on_disconnect([self] { self->abort_unfinished(); });
    for (size_t p = 0; p < request_.prompts.size(); ++p) {
        auto sink = sink_;
        prompts_[p].request_id = backend_.generate(
            std::move(request_.prompts[p]), [self, sink, p](const output_delta& d) {
                sink->post([self, p, d] { self->on_delta(p, d); });
            });
    }
}

void generation_job::on_delta(size_t prompt_index, const output_delta& d) {
    if (done_) return;
    if (d.finish == finish_reason::error) return fail(d);
    auto& prompt = prompts_[prompt_index];
    const size_t n = choices_.size() / prompts_.size();
    if (d.index < 0 || static_cast<size_t>(d.index) >= n) return;  // not ours to index
    auto& c = choices_[prompt_index * n + static_cast<size_t>(d.index)];
    if (c.finished) return;
    const auto now = clock::now();
    prompt.num_prompt_tokens = std::max(prompt.num_prompt_tokens, d.num_prompt_tokens);
    if (!prompt.queue_time_recorded && d.queued_seconds >= 0.0) {
        metrics_.observe_queue_time(d.queued_seconds);
        prompt.queue_time_recorded = true;
    }
    if (!d.token_ids.empty()) {
        if (!prompt.first_token_seen) {
            metrics_.observe_time_to_first_token(seconds_between(arrival_, now));
            prompt.first_token_seen = true;
        } else if (c.has_tokens) {
            metrics_.observe_inter_token_latency(seconds_between(c.last_token_time, now));
        }
        c.has_tokens = true;
        c.last_token_time = now;
        completion_tokens_ += static_cast<int64_t>(d.token_ids.size());
    }
    if (!d.prompt_logprobs.empty() && c.out.prompt_logprobs.empty())
        c.out.prompt_logprobs = d.prompt_logprobs;
    c.out.logprobs.insert(c.out.logprobs.end(), d.logprobs.begin(), d.logprobs.end());
    c.out.text += d.text;
    chat_delta parsed;
    if (c.parser) {
        parsed = c.parser->feed(d.text);
        if (d.finished()) {
            chat_delta rest = c.parser->finish();
            parsed.reasoning += rest.reasoning;
            parsed.content += rest.content;
            parsed.tool_calls.insert(parsed.tool_calls.end(), rest.tool_calls.begin(),
                                     rest.tool_calls.end());
            c.out.parsed = true;
            c.out.has_reasoning = parsers_.reasoning != nullptr;
            c.out.content = c.parser->content();
            if (parsers_.include_reasoning) c.out.reasoning = c.parser->reasoning();
            c.out.tool_calls = c.parser->tool_calls();
            c.out.finish_as_tool_calls = parsers_.finish_as_tool_calls && !c.out.tool_calls.empty();
        }
        if (!parsers_.include_reasoning) parsed.reasoning.clear();
    }
    if (d.finished()) {
        c.finished = true;
        c.out.finish = d.finish;
        c.out.stop_reason = d.stop_reason;
        if (d.kv_transfer) c.out.kv_transfer = d.kv_transfer;
        metrics_.count_finished(d.finish);
        --num_unfinished_;
        if (--prompt.num_unfinished == 0)
            metrics_.observe_e2e_latency(seconds_between(arrival_, now));
    }
    if (request_.stream) {
        if (c.parser)
            stream_parsed(c, d, parsed);
        else
            stream_delta(c, d);
    }
    if (num_unfinished_ == 0) finish_all();
}

void generation_job::stream_parsed(choice_state& c, const output_delta& d,
                                   const chat_delta& parsed) {
    if (!stream_started_) {
        sink_->start_stream("text/event-stream");
        stream_started_ = true;
    }
    if (!c.sent_first) {
        c.sent_first = true;
        sink_->write(
            sse_event(chunk_json(context_, c.out.index, "", {}, 0, true, finish_reason::none, "")));
    }
    // One chunk per piece, so a call's header and its fragments arrive in order and no
    // chunk holds two entries of one call.
    std::vector<chat_delta> pieces;
    if (!parsed.reasoning.empty() || !parsed.content.empty() || !d.logprobs.empty())
        pieces.push_back({parsed.reasoning, parsed.content, {}});
    for (const auto& call : parsed.tool_calls) pieces.push_back({"", "", {call}});
    if (pieces.empty()) {
        if (!d.finished()) return;
        pieces.emplace_back();
    }
    for (size_t i = 0; i < pieces.size(); ++i) {
        const bool last = i + 1 == pieces.size();
        sink_->write(sse_event(parsed_chunk_json(
            context_, c.out.index, pieces[i], i == 0 ? d.logprobs : std::vector<token_logprob>{},
            last ? d.finish : finish_reason::none, last && c.out.finish_as_tool_calls,
            last ? d.stop_reason : std::string())));
    }
}

void generation_job::stream_delta(choice_state& c, const output_delta& d) {
    if (!stream_started_) {
        sink_->start_stream("text/event-stream");
        stream_started_ = true;
    }
    std::string text = d.text;
    if (!c.sent_first) {
        c.sent_first = true;
        // Chat opens every choice with a role-only delta, as OpenAI does; completions put
        // the echoed prompt in front of the first text.
        if (context_.kind == endpoint_kind::chat)
            sink_->write(sse_event(
                chunk_json(context_, c.out.index, "", {}, 0, true, finish_reason::none, "")));
        text = c.out.text.substr(0, c.out.echo_length) + text;
    }
    if (text.empty() && d.logprobs.empty() && !d.finished()) return;
    sink_->write(sse_event(chunk_json(context_, c.out.index, text, d.logprobs, c.streamed_bytes,
                                      false, d.finish, d.stop_reason)));
    c.streamed_bytes += text.size();
}

void generation_job::finish_all() {
    done_ = true;
    slot_.reset();
    usage_counts usage;
    for (const auto& p : prompts_) usage.prompt_tokens += p.num_prompt_tokens;
    usage.completion_tokens = completion_tokens_;
    // n sequences share one prompt; OpenAI counts its tokens once per prompt.
    if (request_.stream) {
        if (request_.include_usage) sink_->write(sse_event(usage_chunk_json(context_, usage)));
        sink_->write(sse_done());
        sink_->end_stream();
        return;
    }
    std::vector<choice_output> outs;
    outs.reserve(choices_.size());
    for (auto& c : choices_) outs.push_back(std::move(c.out));
    sink_->send(200, "application/json", full_response_json(context_, outs, usage));
}

void generation_job::fail(const output_delta& d) {
    done_ = true;
    slot_.reset();
    abort_unfinished();
    const api_error err = map_engine_error(d);
    if (!stream_started_) {
        send_error(*sink_, err);
        return;
    }
    // Headers are out: report inside the stream the way vLLM does, then end it.
    sink_->write(sse_event(err.to_json()));
    sink_->write(sse_done());
    sink_->end_stream();
}

void generation_job::abort_unfinished() {
    for (size_t p = 0; p < prompts_.size(); ++p) {
        if (prompts_[p].num_unfinished > 0 && !prompts_[p].request_id.empty())
            backend_.abort(prompts_[p].request_id);
    }
}

}  // namespace actorlm::net

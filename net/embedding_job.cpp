// embedding_job (see embedding_job.hpp): one engine request per input, the response
// once every vector is in. A pooling request has a single, final delta, so there is
// nothing to stream (OpenAI's embeddings endpoint does not stream either).
#include "net/embedding_job.hpp"

#include "net/generation_job.hpp"

namespace actorlm::net {

embedding_job::embedding_job(inference_backend& backend, server_metrics& metrics,
                             std::shared_ptr<response_sink> sink, embedding_request request,
                             embedding_response response,
                             std::shared_ptr<admission_control::ticket> slot)
    : backend_(backend),
      metrics_(metrics),
      sink_(std::move(sink)),
      request_(std::move(request)),
      response_(std::move(response)),
      slot_(std::move(slot)) {}

void embedding_job::start() {
    const size_t n = request_.inputs.size();
    request_ids_.resize(n);
    finished_.assign(n, false);
    response_.embeddings.resize(n);
    num_unfinished_ = n;
    auto self = shared_from_this();
    sink_->on_disconnect([self] { self->abort_unfinished(); });
    for (size_t i = 0; i < n; ++i) {
        auto sink = sink_;
        request_ids_[i] = backend_.generate(std::move(request_.inputs[i]),
                                            [self, sink, i](const output_delta& d) {
                                                sink->post([self, i, d] { self->on_delta(i, d); });
                                            });
    }
}

void embedding_job::on_delta(size_t input_index, const output_delta& d) {
    if (done_ || finished_[input_index] || !d.finished()) return;
    finished_[input_index] = true;
    --num_unfinished_;
    metrics_.count_finished(d.finish);
    if (d.finish != finish_reason::stop || d.embedding.empty()) {
        done_ = true;
        abort_unfinished();
        slot_.reset();
        if (d.finish == finish_reason::error) return send_error(*sink_, map_engine_error(d));
        // An abort the client did not ask for (the engine shutting down).
        return send_error(*sink_,
                          service_unavailable(std::string("The embedding request was aborted: ") +
                                              finish_reason_name(d.finish)));
    }
    response_.prompt_tokens += d.num_prompt_tokens;
    response_.embeddings[input_index] =
        request_.dimensions ? truncate_embedding(d.embedding, *request_.dimensions) : d.embedding;
    if (num_unfinished_ > 0) return;
    done_ = true;
    slot_.reset();
    sink_->send(200, "application/json", write_embedding_response(response_, request_.encoding));
}

void embedding_job::abort_unfinished() {
    for (size_t i = 0; i < request_ids_.size(); ++i)
        if (!finished_[i] && !request_ids_[i].empty()) backend_.abort(request_ids_[i]);
}

}  // namespace actorlm::net

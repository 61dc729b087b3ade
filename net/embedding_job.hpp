// embedding_job: one /v1/embeddings request from submission to its response: submits
// one pooling engine request per input (the scheduler batches them like prompts),
// gathers each finished vector, applies the Matryoshka truncation, and sends the whole
// list once the last input ends; the first engine error answers for the request and
// aborts the rest, as does a client that goes away. All state is touched only on the
// connection's strand (engine callbacks are posted there).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "net/admission_control.hpp"
#include "net/embedding_request.hpp"
#include "net/embedding_response.hpp"
#include "net/inference_backend.hpp"
#include "net/response_sink.hpp"
#include "net/server_metrics.hpp"

namespace actorlm::net {

class embedding_job : public std::enable_shared_from_this<embedding_job> {
public:
    /// `request.inputs` hold their prompt token ids (prepared by the router); `response`
    /// carries the id, creation time and model name to answer with. `slot`: the
    /// request's admission, given back when the job ends.
    embedding_job(inference_backend& backend, server_metrics& metrics,
                  std::shared_ptr<response_sink> sink, embedding_request request,
                  embedding_response response, std::shared_ptr<admission_control::ticket> slot);

    /// Submits the engine requests. Call on the connection's strand.
    void start();

private:
    void on_delta(size_t input_index, const output_delta& d);
    void abort_unfinished();

    inference_backend& backend_;
    server_metrics& metrics_;
    std::shared_ptr<response_sink> sink_;
    embedding_request request_;
    embedding_response response_;
    std::shared_ptr<admission_control::ticket> slot_;
    std::vector<std::string> request_ids_;
    std::vector<bool> finished_;
    size_t num_unfinished_ = 0;
    bool done_ = false;
};

}  // namespace actorlm::net

// generation_job: one /v1/completions or /v1/chat/completions request from
// submission to the last byte: submits one engine request per prompt, gathers
// the deltas of all n sequences, streams SSE chunks or sends the final object,
// maps engine errors to OpenAI errors, records metrics, and aborts its engine
// requests when the client disconnects. All state is touched only on the
// connection's strand (engine callbacks are posted there).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "net/admission_control.hpp"
#include "net/inference_backend.hpp"
#include "net/openai_response.hpp"
#include "net/response_sink.hpp"
#include "net/server_metrics.hpp"

namespace actorlm::net {

/// The OpenAI error for an engine delta that finished with finish_reason::error: its
/// error_kind decides the status (400, 429, 503, else 500).
api_error map_engine_error(const output_delta& d);

class generation_job : public std::enable_shared_from_this<generation_job> {
public:
    /// `slot`: the request's admission, given back as soon as its response ends.
    generation_job(inference_backend& backend, server_metrics& metrics,
                   std::shared_ptr<response_sink> sink, openai_request request,
                   response_context context, std::shared_ptr<admission_control::ticket> slot,
                   chat_output_parsers parsers = {});

    /// Submits the engine requests. Call on the connection's strand.
    void start();

private:
    using clock = std::chrono::steady_clock;

    struct choice_state {
        choice_output out;
        bool finished = false;
        bool sent_first = false;    // streaming: role/echo chunk sent
        size_t streamed_bytes = 0;  // streaming: text offset for completions logprobs
        clock::time_point last_token_time;
        bool has_tokens = false;
        std::unique_ptr<chat_output_stream> parser;  // chat with reasoning / tool parsers
    };
    struct prompt_state {
        std::string request_id;
        std::string echo_text;
        int32_t num_prompt_tokens = 0;
        int32_t num_unfinished = 0;
        bool first_token_seen = false;
        bool queue_time_recorded = false;
    };

    void on_delta(size_t prompt_index, const output_delta& d);
    void stream_delta(choice_state& c, const output_delta& d);
    /// Streams a parsed choice's step: reasoning and content in one chunk, each tool
    /// call entry in its own, the finish reason on the last.
    void stream_parsed(choice_state& c, const output_delta& d, const chat_delta& parsed);
    void fail(const output_delta& d);
    void finish_all();
    void abort_unfinished();
    std::string echo_text_for(const generate_request& req);

    inference_backend& backend_;
    server_metrics& metrics_;
    std::shared_ptr<response_sink> sink_;
    openai_request request_;
    response_context context_;
    std::shared_ptr<admission_control::ticket> slot_;
    chat_output_parsers parsers_;
    std::vector<prompt_state> prompts_;
    std::vector<choice_state> choices_;
    clock::time_point arrival_;
    size_t num_unfinished_ = 0;
    int64_t completion_tokens_ = 0;
    bool stream_started_ = false;
    bool done_ = false;
};

}  // namespace actorlm::net

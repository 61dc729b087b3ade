// load_generator: the client half of `actorlm bench-serve` (and the server's
// concurrency tests). Sends streaming OpenAI requests from one io_context
// thread over many concurrent connections, with Poisson arrivals (or all at
// once) under a concurrency cap, and times each stream as `vllm bench serve`
// does: TTFT at the first non-empty text, ITL between later text chunks, E2E at
// the end, output tokens from the final usage chunk. Multi-turn conversations
// send their turns one after another, each built from the previous answer; a
// conversation holds its concurrency slot from its first turn to its last.
// run_load() and run_conversations() block their caller.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace actorlm::net {

struct load_options {
    std::string host = "127.0.0.1";
    uint16_t port = 8000;
    std::string api_key;          // sent as Authorization: Bearer when non-empty
    int32_t max_concurrency = 0;  // 0: no cap
    double request_rate = 0.0;    // requests/s; 0 or less: all at once ("inf")
    double burstiness = 1.0;      // gamma shape of inter-arrival times (1 = Poisson)
    uint64_t seed = 0;
    int32_t timeout_s = 600;  // per request
    /// Called on the load thread each time a request ends (or is given up unsent), with
    /// the requests ended so far and the run's total. Empty: nothing called.
    std::function<void(size_t done, size_t total)> on_progress;
};

/// One request to send: a POST of `body` (which should ask for "stream": true).
struct load_request {
    std::string target = "/v1/completions";
    std::string body;
};

/// What one request measured. Times are seconds.
struct request_result {
    bool success = false;
    std::string error;     // HTTP status and body, or the socket error
    double start_s = 0.0;  // when it was sent, from the run's start
    double ttft_s = 0.0;
    double e2e_s = 0.0;
    std::vector<double> itl_s;  // gaps between text chunks after the first
    int64_t output_tokens = 0;  // usage.completion_tokens, else chunks with text
    int64_t prompt_tokens = 0;  // usage.prompt_tokens, when reported
    std::string text;           // the concatenated generated text
    int32_t turn = 0;           // 0: a conversation's first request; 1, 2, ...: follow-ups
    /// The ids of `text` from the server's POST /tokenize, when the conversation plan asks
    /// for them (token-id follow-ups); empty otherwise.
    std::vector<int32_t> text_token_ids;
};

/// Sends every request and returns their results in request order, plus the run's wall time.
/// `--max-concurrency` and the arrival times apply per request.
std::vector<request_result> run_load(const load_options& options,
                                     const std::vector<load_request>& requests,
                                     double* duration_s = nullptr);

/// Multi-turn conversations: conversation c arrives at its arrival time (request_rate applies
/// to conversations), sends turn 0, and sends turn t + 1 only after turn t's stream ended.
/// max_concurrency caps the conversations in flight, so it caps requests in flight too.
struct conversation_plan {
    size_t num_conversations = 0;
    int32_t num_turns = 1;
    /// Builds turn `turn` of `conversation`; `previous` is turn - 1's successful result (null
    /// for turn 0). Called on the load thread, in each conversation's turn order.
    std::function<load_request(size_t conversation, int32_t turn, const request_result* previous)>
        build;
    /// Before building a follow-up, POST `tokenize_target` {"model", "prompt": answer text,
    /// "add_special_tokens": false} and put the answer's ids into previous->text_token_ids
    /// (for token-id prompts, which cannot carry text). Not timed.
    bool tokenize_answers = false;
    std::string tokenize_target = "/tokenize";
    std::string model;  // sent in the tokenize request when non-empty
};

/// Runs the plan; results are conversation-major (conversation c's turn t at
/// c * num_turns + t). A failed turn ends its conversation: the turns it did not send are
/// failed results whose error says so.
std::vector<request_result> run_conversations(const load_options& options,
                                              const conversation_plan& plan,
                                              double* duration_s = nullptr);

}  // namespace actorlm::net

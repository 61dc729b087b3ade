// load_generator: the client half of `actorlm bench-serve` (and the server's
// concurrency tests). Sends streaming OpenAI requests from one io_context
// thread over many concurrent connections, with Poisson arrivals (or all at
// once) under a concurrency cap, and times each stream as `vllm bench serve`
// does: TTFT at the first non-empty text, ITL between later text chunks, E2E at
// the end, output tokens from the final usage chunk. run() blocks its caller.
#pragma once

#include <cstdint>
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
};

/// Sends every request and returns their results in request order, plus the run's wall time.
std::vector<request_result> run_load(const load_options& options,
                                     const std::vector<load_request>& requests,
                                     double* duration_s = nullptr);

}  // namespace actorlm::net

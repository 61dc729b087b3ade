// soak_workload: the request mix of `actorlm soak`. Each request carries what a
// correct server must answer (a 200 with every choice, a 400/404 error object
// for a bad body, nothing for a client that hangs up), so the soak can tell the
// outcomes a user provokes on purpose from faults. Prompts are token ids cut from
// a pool the server tokenized, so their lengths are exact: prefix-sharing prompts
// share whole blocks, and long prompts fill the context to force preemption.
// Requests are pure functions of a random engine; any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace actorlm::net {

enum class soak_kind {
    completion,         // /v1/completions, whole response
    completion_stream,  // the same, streamed (SSE)
    parallel_samples,   // n = 2..4, streamed or not
    shared_prefix,      // one of a few long prefixes plus a short suffix (prefix cache)
    long_prompt,        // fills the context: preemption under load
    structured,         // a regex constraint (structured outputs)
    chat,               // /v1/chat/completions, when the model has a chat template
    hang_up_mid_stream, // reads a few chunks, then closes the connection
    hang_up_at_once,    // sends the request and closes without reading (an abort)
    bad_request,        // malformed or out-of-range bodies: must be a 400/404 error
    tokenize,           // POST /tokenize
};
inline constexpr int k_soak_kind_count = 11;

std::string_view soak_kind_name(soak_kind kind);

/// What the server told the soak before it started (POST /tokenize, a chat probe).
struct soak_model_facts {
    std::vector<int32_t> token_pool;  // valid ids to cut prompts from (non-empty)
    int32_t max_model_len = 0;
    bool chat = false;  // /v1/chat/completions answered 200
    std::string model;  // sent as "model" when non-empty
};

struct soak_request {
    soak_kind kind = soak_kind::completion;
    std::string target;  // "/v1/completions", ...
    std::string body;
    bool stream = false;
    int32_t choices = 1;  // n: a whole response must carry this many choices
    // hang_up_mid_stream: the chunks read before closing; 0: close on the first.
    int32_t hang_up_after_chunks = -1;
    std::vector<int> expected_statuses = {200};
};

/// The prompt prefixes shared_prefix requests choose from: `count` prefixes of
/// `length` tokens, fixed for the whole run.
std::vector<std::vector<int32_t>> make_shared_prefixes(const soak_model_facts& facts,
                                                       int32_t count, int32_t length,
                                                       std::mt19937_64& rng);

/// One request of the mix (kinds weighted as a serving day might see them).
soak_request make_soak_request(const soak_model_facts& facts,
                               const std::vector<std::vector<int32_t>>& shared_prefixes,
                               std::mt19937_64& rng);

/// The request of one kind (tests, and make_soak_request after its draw).
soak_request make_soak_request_of_kind(soak_kind kind, const soak_model_facts& facts,
                                       const std::vector<std::vector<int32_t>>& shared_prefixes,
                                       std::mt19937_64& rng);

/// The bad bodies bad_request sends, each with the status a correct server answers.
struct bad_body {
    std::string body;
    int status = 400;
};
const std::vector<bad_body>& soak_bad_bodies();

class http_client;

/// Sends `request` on `client` as its kind says (reading all, some or none of the answer)
/// and returns why the outcome is a fault, or nullopt when it is what a correct server does.
std::optional<std::string> run_soak_request(http_client& client, const soak_request& request,
                                            const std::map<std::string, std::string>& headers);

/// Why a finished request is a fault, or nullopt when the server answered as it must.
/// `body` is the whole response (streams: every SSE byte read).
std::optional<std::string> soak_fault(const soak_request& request, int status,
                                      std::string_view body);

}  // namespace actorlm::net

// soak_workload: request bodies of each kind, the kind mix, and the check of each
// answer against what the kind expects.
#include "bench/soak_workload.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <map>
#include <regex>

#include "bench/http_client.hpp"
#include "bench/prompt_words.hpp"
#include "net/json_writer.hpp"

namespace actorlm::net {

namespace {

// Relative frequencies, in soak_kind order. Successful traffic dominates, as on a real
// server; each kind of fault a client can provoke still shows up hundreds of times an hour.
constexpr std::array<int, k_soak_kind_count> k_kind_weights = {
    14, 20, 8, 14, 5, 6, 8, 8, 4, 8, 5};

// A structured-output constraint whose complete outputs a std::regex can check.
constexpr std::string_view k_structured_regex = "(yes|no|maybe)(, [0-9]{1,3})?";

int32_t uniform(std::mt19937_64& rng, int32_t lo, int32_t hi) {
    return std::uniform_int_distribution<int32_t>(lo, hi)(rng);
}

// `length` ids from the pool starting at a random place, wrapping around.
std::vector<int32_t> cut_prompt(const soak_model_facts& facts, int32_t length,
                                std::mt19937_64& rng) {
    const auto& pool = facts.token_pool;
    std::vector<int32_t> ids(static_cast<size_t>(std::max(length, 1)));
    size_t at = static_cast<size_t>(uniform(rng, 0, static_cast<int32_t>(pool.size()) - 1));
    for (auto& id : ids) id = pool[at++ % pool.size()];
    return ids;
}

std::string random_words(int32_t count, std::mt19937_64& rng) {
    std::string text;
    constexpr int32_t words = static_cast<int32_t>(std::size(k_prompt_words));
    for (int32_t i = 0; i < count; ++i) {
        if (i > 0) text += ' ';
        text += k_prompt_words[static_cast<size_t>(uniform(rng, 0, words - 1))];
    }
    return text;
}

// The body's common head: model, sampling, streaming; the caller adds the prompt and closes.
void begin_body(json_writer& w, const soak_model_facts& facts, const soak_request& r,
                int32_t max_tokens, std::mt19937_64& rng) {
    w.begin_object();
    if (!facts.model.empty()) w.field("model", facts.model);
    w.field("max_tokens", max_tokens);
    w.field("temperature", uniform(rng, 0, 10) / 10.0);
    if (r.choices > 1) w.field("n", r.choices);
    if (r.stream) {
        w.field("stream", true);
        w.key("stream_options").begin_object().field("include_usage", true).end_object();
    }
}

void write_ids(json_writer& w, const std::vector<int32_t>& ids) {
    w.begin_array();
    for (int32_t id : ids) w.value(id);
    w.end_array();
}

soak_request completion_with_prompt(const soak_model_facts& facts, soak_kind kind,
                                    const std::vector<int32_t>& prompt, int32_t max_tokens,
                                    bool stream, int32_t choices, std::mt19937_64& rng) {
    soak_request r;
    r.kind = kind;
    r.target = "/v1/completions";
    r.stream = stream;
    r.choices = choices;
    json_writer w;
    begin_body(w, facts, r, max_tokens, rng);
    w.key("prompt");
    write_ids(w, prompt);
    r.body = w.end_object().take();
    return r;
}

// Room left in the context for `prompt_len` prompt tokens (at least 1 output token).
int32_t output_room(const soak_model_facts& facts, int32_t prompt_len, int32_t wanted) {
    return std::max(1, std::min(wanted, facts.max_model_len - prompt_len - 1));
}

// Complete answers (finish_reason per choice index) from a whole response or an SSE body;
// the choices' texts concatenated per index.
struct answer_view {
    std::map<int64_t, std::string> finish_reasons;
    std::map<int64_t, std::string> texts;
    bool has_usage = false;
};

void read_choices(simdjson::dom::element doc, answer_view& out) {
    simdjson::dom::array choices;
    if (doc["choices"].get(choices) == simdjson::SUCCESS) {
        for (auto choice : choices) {
            int64_t index = 0;
            if (choice["index"].get(index) != simdjson::SUCCESS) continue;
            std::string_view text;
            if (choice["text"].get(text) == simdjson::SUCCESS ||
                choice["message"]["content"].get(text) == simdjson::SUCCESS ||
                choice["delta"]["content"].get(text) == simdjson::SUCCESS)
                out.texts[index] += text;
            std::string_view reason;
            if (choice["finish_reason"].get(reason) == simdjson::SUCCESS)
                out.finish_reasons[index] = std::string(reason);
        }
    }
    simdjson::dom::object usage;
    if (doc["usage"].get(usage) == simdjson::SUCCESS) out.has_usage = true;
}

std::optional<std::string> check_answer(const soak_request& request, std::string_view body) {
    simdjson::dom::parser parser;
    answer_view answer;
    if (!request.stream) {
        simdjson::dom::element doc;
        if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
            return "a 200 whose body is not JSON";
        read_choices(doc, answer);
    } else {
        constexpr std::string_view k_done = "data: [DONE]\n\n";
        if (body.size() < k_done.size() || body.substr(body.size() - k_done.size()) != k_done)
            return "a stream that did not end with data: [DONE]";
        for (size_t pos = 0; pos < body.size();) {
            size_t eol = body.find('\n', pos);
            if (eol == std::string_view::npos) eol = body.size();
            const std::string_view line = body.substr(pos, eol - pos);
            pos = eol + 1;
            if (line.rfind("data: {", 0) != 0) continue;
            const std::string_view json = line.substr(6);
            simdjson::dom::element event;
            if (parser.parse(json.data(), json.size()).get(event) != simdjson::SUCCESS)
                return "a stream event that is not JSON";
            simdjson::dom::object error;
            if (event["error"].get(error) == simdjson::SUCCESS)
                return "an error event in the stream: " + std::string(json);
            read_choices(event, answer);
        }
    }
    if (static_cast<int32_t>(answer.finish_reasons.size()) != request.choices)
        return std::to_string(answer.finish_reasons.size()) + " finished choices of " +
               std::to_string(request.choices);
    if (!answer.has_usage) return "no usage in the answer";
    if (request.kind == soak_kind::structured) {
        static const std::regex constraint{std::string(k_structured_regex)};
        for (const auto& [index, reason] : answer.finish_reasons)
            if (reason == "stop" && !std::regex_match(answer.texts[index], constraint))
                return "structured output '" + answer.texts[index] + "' breaks its regex";
    }
    return std::nullopt;
}

}  // namespace

std::string_view soak_kind_name(soak_kind kind) {
    switch (kind) {
        case soak_kind::completion: return "completion";
        case soak_kind::completion_stream: return "completion_stream";
        case soak_kind::parallel_samples: return "parallel_samples";
        case soak_kind::shared_prefix: return "shared_prefix";
        case soak_kind::long_prompt: return "long_prompt";
        case soak_kind::structured: return "structured";
        case soak_kind::chat: return "chat";
        case soak_kind::hang_up_mid_stream: return "hang_up_mid_stream";
        case soak_kind::hang_up_at_once: return "hang_up_at_once";
        case soak_kind::bad_request: return "bad_request";
        case soak_kind::tokenize: return "tokenize";
    }
    return "unknown";
}

const std::vector<bad_body>& soak_bad_bodies() {
    static const std::vector<bad_body> bodies = {
        {"{"},
        {"[]"},
        {"{\"prompt\": 5}"},
        {"{\"prompt\": \"x\", \"max_tokens\": -1}"},
        {"{\"prompt\": \"x\", \"max_tokens\": 100000000}"},  // beyond the context
        {"{\"prompt\": \"x\", \"temperature\": \"hot\"}"},
        {"{\"prompt\": \"x\", \"n\": 0}"},
        {"{\"prompt\": \"x\", \"logprobs\": 1000}"},
        {"{\"prompt\": [2147483647]}"},  // not a token of any vocabulary
        {"{\"prompt\": \"x\", \"structured_outputs\": {\"regex\": \"(\"}}"},
        {"{\"prompt\": \"\\ud800\"}"},  // a lone surrogate
        {"{\"prompt\": \"x\", \"model\": \"no-such-model\"}", 404},
    };
    return bodies;
}

std::vector<std::vector<int32_t>> make_shared_prefixes(const soak_model_facts& facts,
                                                       int32_t count, int32_t length,
                                                       std::mt19937_64& rng) {
    std::vector<std::vector<int32_t>> prefixes;
    for (int32_t i = 0; i < count; ++i) prefixes.push_back(cut_prompt(facts, length, rng));
    return prefixes;
}

soak_request make_soak_request_of_kind(soak_kind kind, const soak_model_facts& facts,
                                       const std::vector<std::vector<int32_t>>& shared_prefixes,
                                       std::mt19937_64& rng) {
    const int32_t short_len = std::min(uniform(rng, 4, 48), facts.max_model_len / 4);
    switch (kind) {
        case soak_kind::completion:
        case soak_kind::completion_stream: {
            auto prompt = cut_prompt(facts, short_len, rng);
            return completion_with_prompt(facts, kind, prompt,
                                          output_room(facts, short_len, uniform(rng, 1, 64)),
                                          kind == soak_kind::completion_stream, 1, rng);
        }
        case soak_kind::parallel_samples: {
            auto prompt = cut_prompt(facts, short_len, rng);
            return completion_with_prompt(facts, kind, prompt,
                                          output_room(facts, short_len, uniform(rng, 1, 32)),
                                          uniform(rng, 0, 1) == 1, uniform(rng, 2, 4), rng);
        }
        case soak_kind::shared_prefix: {
            auto prompt = shared_prefixes[static_cast<size_t>(
                uniform(rng, 0, static_cast<int32_t>(shared_prefixes.size()) - 1))];
            const auto suffix = cut_prompt(facts, uniform(rng, 1, 8), rng);
            prompt.insert(prompt.end(), suffix.begin(), suffix.end());
            const auto len = static_cast<int32_t>(prompt.size());
            return completion_with_prompt(facts, kind, prompt,
                                          output_room(facts, len, uniform(rng, 1, 32)),
                                          uniform(rng, 0, 1) == 1, 1, rng);
        }
        case soak_kind::long_prompt: {
            const int32_t max_tokens = uniform(rng, 8, 32);
            const int32_t len = std::max(1, facts.max_model_len - max_tokens - 1);
            return completion_with_prompt(facts, kind, cut_prompt(facts, len, rng),
                                          output_room(facts, len, max_tokens), true, 1, rng);
        }
        case soak_kind::structured: {
            soak_request r;
            r.kind = kind;
            r.target = "/v1/completions";
            r.stream = uniform(rng, 0, 1) == 1;
            json_writer w;
            begin_body(w, facts, r, output_room(facts, short_len, 16), rng);
            w.key("prompt");
            write_ids(w, cut_prompt(facts, short_len, rng));
            w.key("structured_outputs").begin_object().field("regex", k_structured_regex);
            r.body = w.end_object().end_object().take();
            return r;
        }
        case soak_kind::chat: {
            soak_request r;
            r.kind = kind;
            r.target = "/v1/chat/completions";
            r.stream = uniform(rng, 0, 1) == 1;
            json_writer w;
            begin_body(w, facts, r, uniform(rng, 1, 32), rng);
            w.key("messages").begin_array();
            w.begin_object().field("role", "system").field("content", "Answer briefly.");
            w.end_object();
            w.begin_object().field("role", "user").field("content", random_words(short_len, rng));
            w.end_object();
            r.body = w.end_array().end_object().take();
            return r;
        }
        case soak_kind::hang_up_mid_stream:
        case soak_kind::hang_up_at_once: {
            auto prompt = cut_prompt(facts, short_len, rng);
            auto r = completion_with_prompt(facts, kind, prompt,
                                            output_room(facts, short_len, 64), true, 1, rng);
            if (kind == soak_kind::hang_up_mid_stream) {
                r.hang_up_after_chunks = uniform(rng, 0, 8);
            } else {
                r.expected_statuses.clear();  // nothing is read
            }
            return r;
        }
        case soak_kind::bad_request: {
            const auto& bodies = soak_bad_bodies();
            const auto& bad =
                bodies[static_cast<size_t>(uniform(rng, 0, static_cast<int32_t>(bodies.size()) - 1))];
            soak_request r;
            r.kind = kind;
            r.target = "/v1/completions";
            r.body = bad.body;
            r.expected_statuses = {bad.status};
            return r;
        }
        case soak_kind::tokenize: {
            soak_request r;
            r.kind = kind;
            r.target = "/tokenize";
            json_writer w;
            w.begin_object().field("prompt", random_words(short_len, rng));
            r.body = w.end_object().take();
            return r;
        }
    }
    return {};
}

soak_request make_soak_request(const soak_model_facts& facts,
                               const std::vector<std::vector<int32_t>>& shared_prefixes,
                               std::mt19937_64& rng) {
    auto weights = k_kind_weights;
    if (!facts.chat) weights[static_cast<size_t>(soak_kind::chat)] = 0;
    std::discrete_distribution<int> pick(weights.begin(), weights.end());
    return make_soak_request_of_kind(static_cast<soak_kind>(pick(rng)), facts, shared_prefixes,
                                     rng);
}

std::optional<std::string> soak_fault(const soak_request& request, int status,
                                      std::string_view body) {
    if (request.expected_statuses.empty()) return std::nullopt;
    const auto& ok = request.expected_statuses;
    if (std::find(ok.begin(), ok.end(), status) == ok.end())
        return "HTTP " + std::to_string(status) + ": " +
               std::string(body.substr(0, std::min<size_t>(body.size(), 300)));
    if (status != 200) {
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        std::string_view message;
        if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS ||
            doc["error"]["message"].get(message) != simdjson::SUCCESS)
            return "an HTTP " + std::to_string(status) + " without an OpenAI error object";
        return std::nullopt;
    }
    if (request.hang_up_after_chunks >= 0) return std::nullopt;  // the client left early
    if (request.kind == soak_kind::tokenize) {
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        simdjson::dom::array tokens;
        if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS ||
            doc["tokens"].get(tokens) != simdjson::SUCCESS)
            return "a /tokenize answer without tokens";
        return std::nullopt;
    }
    return check_answer(request, body);
}

std::optional<std::string> run_soak_request(http_client& client, const soak_request& request,
                                            const std::map<std::string, std::string>& headers) {
    if (request.kind == soak_kind::hang_up_at_once) {
        auto sent = client.send_and_close("POST", request.target, request.body, headers);
        if (!sent) return "could not send: " + sent.message();
        return std::nullopt;
    }
    std::string body;
    int32_t reads = 0;
    auto answer = client.stream(
        "POST", request.target, request.body,
        [&](std::string_view bytes) {
            body.append(bytes);
            return request.hang_up_after_chunks < 0 || reads++ < request.hang_up_after_chunks;
        },
        headers);
    if (!answer) return "transport: " + answer.message();
    return soak_fault(request, answer.value().status, body);
}

}  // namespace actorlm::net

// Shared helpers for the actor-runtime tests: the stories260K golden cases and
// a blocking "run this request to the end" over the public engine API.
#pragma once

#include <chrono>
#include <thread>

#include <simdjson.h>

#include <string>
#include <vector>

#include "actorlm/engine.hpp"
#include "support/shared_data.hpp"

namespace actorlm::test {

struct golden_case {
    std::string prompt;
    std::vector<int32_t> prompt_ids;  // with BOS
    std::vector<int32_t> greedy_ids;
};

inline std::vector<golden_case> load_stories_golden() {
    std::vector<golden_case> out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.load(shared_path("models/stories260K.golden.json"));
    for (simdjson::dom::element c : doc["cases"].get_array()) {
        golden_case g;
        g.prompt = std::string(std::string_view(c["prompt"].get_string()));
        for (int64_t id : c["prompt_ids_with_bos"].get_array()) g.prompt_ids.push_back(int32_t(id));
        for (int64_t id : c["greedy_ids"].get_array()) g.greedy_ids.push_back(int32_t(id));
        out.push_back(std::move(g));
    }
    return out;
}

/// Greedy settings that reproduce the golden file: stop at BOS (1) or EOS (2).
inline generate_request greedy_request(const golden_case& g) {
    generate_request r;
    r.prompt_token_ids = g.prompt_ids;
    r.params.temperature = 0.0f;
    r.params.max_tokens = static_cast<int32_t>(g.greedy_ids.size());
    r.params.stop_token_ids = {1};
    return r;
}

struct collected {
    std::vector<std::vector<int32_t>> tokens;  // per sequence index
    std::vector<std::string> texts;
    std::vector<finish_reason> finish;
    std::vector<std::string> errors;
    std::vector<char> invalid;           // the error blamed the request
    std::vector<double> queued_seconds;  // as reported (-1: never)
    std::vector<int> num_queue_reports;  // deltas that carried a queue time
    size_t num_deltas = 0;
};

/// How a stream ended: its last delta's finish reason and error text.
struct stream_end {
    finish_reason finish = finish_reason::none;
    std::string error;
};

/// Reads the rest of a stream whose last delta so far is `d`.
inline stream_end drain(request_stream& s, output_delta& d) {
    stream_end end{d.finish, d.error};
    while (s.next(d)) end = {d.finish, d.error};
    return end;
}

/// Iterates a stream to its end.
inline collected collect(request_stream& s, int32_t n = 1) {
    collected c;
    c.tokens.resize(size_t(n));
    c.texts.resize(size_t(n));
    c.finish.resize(size_t(n), finish_reason::none);
    c.errors.resize(size_t(n));
    c.invalid.resize(size_t(n), 0);
    c.queued_seconds.resize(size_t(n), -1.0);
    c.num_queue_reports.resize(size_t(n), 0);
    output_delta d;
    while (s.next(d)) {
        ++c.num_deltas;
        auto i = size_t(d.index);
        if (i >= c.tokens.size()) continue;
        c.tokens[i].insert(c.tokens[i].end(), d.token_ids.begin(), d.token_ids.end());
        c.texts[i] += d.text;
        if (d.queued_seconds >= 0.0) {
            c.queued_seconds[i] = d.queued_seconds;
            ++c.num_queue_reports[i];
        }
        if (d.finished()) {
            c.finish[i] = d.finish;
            c.errors[i] = d.error;
            c.invalid[i] = d.error_kind == error_kind::invalid_argument ? 1 : 0;
        }
    }
    return c;
}

inline engine_config stories_config() {
    engine_config cfg;
    cfg.model_path = shared_path("models/stories260K.gguf");
    cfg.num_threads = 2;
    cfg.kv_cache_memory_bytes = 16 << 20;
    cfg.max_num_seqs = 16;
    return cfg;
}

/// Starts an engine or fails the test with the engine's own error message.
inline std::unique_ptr<engine> start_engine(const engine_config& cfg) {
    std::string err;
    auto eng = engine::create(cfg, &err);
    REQUIRE_MESSAGE(eng, err);
    return eng;
}

/// A request that keeps generating (until the model length) unless something stops it.
inline generate_request endless_request() {
    generate_request r;
    r.prompt = "Once upon a time";
    r.params.max_tokens = 100000;
    r.params.ignore_eos = true;
    return r;
}

/// Polls `pred` every 20 ms for up to `limit`; its last answer.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

}  // namespace actorlm::test

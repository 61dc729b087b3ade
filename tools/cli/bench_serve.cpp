// `actorlm bench-serve`: measures an OpenAI-compatible server the way `vllm bench
// serve` does (TTFT, TPOT, ITL, E2EL, throughputs, goodput) with random
// token-id (or random-word) prompts, streaming /v1/completions. Works against
// actorlm serve, vLLM and llama-server. Prints vLLM's table; --result-file
// writes vLLM's JSON keys.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "net/bench_summary.hpp"
#include "net/json_writer.hpp"
#include "net/load_generator.hpp"

namespace {

using namespace actorlm::net;

struct bench_args {
    std::string base_url = "http://127.0.0.1:8000";
    std::string endpoint = "/v1/completions";
    std::string model;
    std::string dataset = "random";
    int32_t input_len = 128;
    int32_t output_len = 128;
    double range_ratio = 0.0;
    int32_t num_prompts = 100;
    std::string request_rate = "inf";
    double burstiness = 1.0;
    int32_t max_concurrency = 0;
    bool ignore_eos = false;
    std::vector<std::string> goodput;
    std::string percentiles = "99";
    std::string token_range = "10:500";
    uint64_t seed = 0;
    std::string api_key;
    std::string result_file;
    int32_t timeout_s = 600;
};

// "http://host:port" -> host, port.
bool parse_base_url(const std::string& url, std::string& host, uint16_t& port, std::string* error) {
    std::string rest = url;
    if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
    else if (rest.find("://") != std::string::npos) {
        *error = "only http:// base URLs are supported, got '" + url + "'";
        return false;
    }
    if (const size_t slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
    const size_t colon = rest.rfind(':');
    host = rest.substr(0, colon);
    port = 80;
    if (colon != std::string::npos) {
        char* end = nullptr;
        const long p = std::strtol(rest.c_str() + colon + 1, &end, 10);
        if (*end != '\0' || p <= 0 || p > 65535) {
            *error = "invalid port in base URL '" + url + "'";
            return false;
        }
        port = static_cast<uint16_t>(p);
    }
    if (host.empty()) {
        *error = "no host in base URL '" + url + "'";
        return false;
    }
    return true;
}

const char* k_words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to",
                         "hello", "world", "big", "small", "red", "blue", "tree", "house",
                         "sun", "moon", "day", "night", "happy", "little", "girl", "boy"};

// One request body per prompt, as vLLM's random dataset builds them; `input_lens` gets
// each prompt's length in tokens (exact for token ids, word count for words).
std::vector<load_request> build_requests(const bench_args& a, int32_t token_lo, int32_t token_hi,
                                         std::vector<int64_t>& input_lens) {
    std::mt19937_64 rng(a.seed);
    const auto lo_len = static_cast<int32_t>(std::floor(a.input_len * (1.0 - a.range_ratio)));
    const auto hi_len = static_cast<int32_t>(std::ceil(a.input_len * (1.0 + a.range_ratio)));
    std::uniform_int_distribution<int32_t> len_dist(std::max(1, lo_len), std::max(1, hi_len));
    std::uniform_int_distribution<int32_t> tok_dist(token_lo, token_hi - 1);
    std::uniform_int_distribution<size_t> word_dist(0, std::size(k_words) - 1);
    const bool chat = a.endpoint.find("chat") != std::string::npos;
    std::vector<load_request> out;
    for (int32_t i = 0; i < a.num_prompts; ++i) {
        const int32_t len = len_dist(rng);
        input_lens.push_back(len);
        json_writer w;
        w.begin_object();
        if (!a.model.empty()) w.field("model", a.model);
        if (a.dataset == "random" && !chat) {
            w.key("prompt").begin_array();
            for (int32_t t = 0; t < len; ++t) w.value(tok_dist(rng));
            w.end_array();
        } else {
            std::string text;
            for (int32_t t = 0; t < len; ++t) {
                if (t) text.push_back(' ');
                text += k_words[word_dist(rng)];
            }
            if (chat) {
                w.key("messages").begin_array().begin_object().field("role", "user");
                w.field("content", text).end_object().end_array();
            } else {
                w.field("prompt", text);
            }
        }
        w.field(chat ? "max_completion_tokens" : "max_tokens", a.output_len);
        w.field("temperature", 0.0).field("stream", true);
        w.key("stream_options").begin_object().field("include_usage", true).end_object();
        if (a.ignore_eos) w.field("ignore_eos", true);
        w.end_object();
        out.push_back({a.endpoint, w.take()});
    }
    return out;
}

int run_bench_serve(const std::vector<std::string>& args) {
    CLI::App app{"Benchmark an OpenAI-compatible server (vllm bench serve's metrics)",
                 "actorlm bench-serve"};
    bench_args a;
    app.add_option("--base-url", a.base_url, "server URL")->capture_default_str();
    app.add_option("--endpoint", a.endpoint, "/v1/completions or /v1/chat/completions")
        ->capture_default_str();
    app.add_option("--model", a.model, "model name sent in requests");
    app.add_option("--dataset,--dataset-name", a.dataset, "random (token ids) or random-words")
        ->check(CLI::IsMember({"random", "random-words"}))->capture_default_str();
    app.add_option("--input-len,--random-input-len", a.input_len, "prompt tokens")
        ->check(CLI::Range(1, 1 << 20))->capture_default_str();
    app.add_option("--output-len,--random-output-len", a.output_len, "max output tokens")
        ->check(CLI::Range(1, 1 << 20))->capture_default_str();
    app.add_option("--random-range-ratio", a.range_ratio, "prompt length spread")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--num-prompts", a.num_prompts, "requests to send")
        ->check(CLI::Range(1, 10000000))->capture_default_str();
    app.add_option("--request-rate", a.request_rate, "requests/s, or inf")->capture_default_str();
    app.add_option("--burstiness", a.burstiness, "gamma shape of arrivals (1 = Poisson)")
        ->check(CLI::PositiveNumber);
    app.add_option("--max-concurrency", a.max_concurrency, "requests in flight at most (0 = no cap)")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--ignore-eos", a.ignore_eos, "generate exactly --output-len tokens");
    app.add_option("--goodput", a.goodput, "SLOs, e.g. ttft:200 tpot:50 e2el:5000 (ms)");
    app.add_option("--metric-percentiles", a.percentiles, "comma-separated, e.g. 50,90,99")
        ->capture_default_str();
    app.add_option("--token-id-range", a.token_range, "LO:HI range of random prompt token ids")
        ->capture_default_str();
    app.add_option("--seed", a.seed, "dataset and arrival seed");
    app.add_option("--api-key", a.api_key, "sent as Authorization: Bearer");
    app.add_option("--result-file", a.result_file, "write the results as JSON here");
    app.add_option("--timeout", a.timeout_s, "per-request timeout in seconds")->check(CLI::PositiveNumber);
    try {
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    std::string error;
    load_options lo;
    if (!parse_base_url(a.base_url, lo.host, lo.port, &error)) {
        std::fprintf(stderr, "bench-serve: %s\n", error.c_str());
        return 2;
    }
    if (a.request_rate != "inf") {
        char* end = nullptr;
        lo.request_rate = std::strtod(a.request_rate.c_str(), &end);
        if (*end != '\0' || !(lo.request_rate > 0)) {
            std::fprintf(stderr, "bench-serve: --request-rate must be 'inf' or a positive number, got '%s'\n",
                         a.request_rate.c_str());
            return 2;
        }
    }
    slo_targets slo;
    for (const auto& item : a.goodput) {
        if (!parse_slo(item, slo, &error)) {
            std::fprintf(stderr, "bench-serve: --goodput: %s\n", error.c_str());
            return 2;
        }
    }
    std::vector<double> percentiles;
    for (size_t start = 0; start <= a.percentiles.size();) {
        const size_t comma = std::min(a.percentiles.find(',', start), a.percentiles.size());
        const std::string item = a.percentiles.substr(start, comma - start);
        char* end = nullptr;
        const double p = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != '\0' || p < 0 || p > 100) {
            std::fprintf(stderr, "bench-serve: --metric-percentiles: '%s' is not in [0, 100]\n", item.c_str());
            return 2;
        }
        percentiles.push_back(p);
        start = comma + 1;
    }
    int32_t token_lo = 0, token_hi = 0;
    if (std::sscanf(a.token_range.c_str(), "%d:%d", &token_lo, &token_hi) != 2 || token_lo < 0 ||
        token_hi <= token_lo) {
        std::fprintf(stderr, "bench-serve: --token-id-range must be LO:HI with 0 <= LO < HI, got '%s'\n",
                     a.token_range.c_str());
        return 2;
    }
    lo.api_key = a.api_key;
    lo.max_concurrency = a.max_concurrency;
    lo.burstiness = a.burstiness;
    lo.seed = a.seed;
    lo.timeout_s = a.timeout_s;

    std::vector<int64_t> input_lens;
    const auto requests = build_requests(a, token_lo, token_hi, input_lens);
    std::fprintf(stderr, "bench-serve: %d requests to %s%s (rate %s, max concurrency %d)\n",
                 a.num_prompts, a.base_url.c_str(), a.endpoint.c_str(), a.request_rate.c_str(),
                 a.max_concurrency);
    double duration_s = 0.0;
    const auto results = run_load(lo, requests, &duration_s);
    const bench_summary summary = summarize(results, input_lens, duration_s, slo, percentiles);
    std::printf("%s", summary_table(summary).c_str());
    if (!a.result_file.empty()) {
        json_writer extra;
        extra.begin_object().field("backend", "openai").field("base_url", a.base_url);
        extra.field("endpoint", a.endpoint).field("model_id", a.model).field("dataset", a.dataset);
        extra.field("input_len", a.input_len).field("output_len", a.output_len);
        extra.field("num_prompts", a.num_prompts).field("request_rate", a.request_rate);
        extra.field("burstiness", a.burstiness).field("max_concurrency", a.max_concurrency);
        extra.field("ignore_eos", a.ignore_eos).end_object();
        std::string members = extra.take();
        members = members.substr(1, members.size() - 2);  // splice into the summary object
        std::ofstream f(a.result_file);
        f << summary_json(summary, members) << "\n";
        if (!f) {
            std::fprintf(stderr, "bench-serve: cannot write %s\n", a.result_file.c_str());
            return 1;
        }
    }
    return summary.completed > 0 ? 0 : 1;
}

actorlm::cli::command_registration reg("bench-serve",
                                       "benchmark an OpenAI-compatible server (TTFT, TPOT, ITL, goodput)",
                                       run_bench_serve);

}  // namespace

// `actorlm bench-serve`: measures an OpenAI-compatible server the way `vllm bench
// serve` does (TTFT, TPOT, ITL, E2EL, throughputs, goodput) with random
// token-id (or random-word) prompts, streaming /v1/completions, or multi-turn
// document QA (doc-qa) for prefix reuse. Works against actorlm serve, vLLM and
// llama-server. Prints vLLM's table; --result-file writes vLLM's JSON keys.
#include <CLI/CLI.hpp>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "progress_display.hpp"
#include "bench/bench_plot.hpp"
#include "bench/bench_summary.hpp"
#include "bench/docqa_dataset.hpp"
#include "bench/load_generator.hpp"
#include "bench/prompt_words.hpp"
#include "bench/server_counters.hpp"
#include "net/json_writer.hpp"

namespace bench_serve_command {

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
    std::string json_schema_file;  // constrain every request (response_format json_schema)
    std::string json_schema;       // its text, read before the run
    std::vector<std::string> goodput;
    std::string percentiles = "99";
    std::string token_range = "10:500";
    uint64_t seed = 0;
    std::string api_key;
    std::string result_file;
    std::string plot_file;  // the run as an SVG page (bench_plot)
    int32_t timeout_s = 600;
    int32_t docqa_num_documents = 8;
    int32_t docqa_document_len = 1024;
    int32_t docqa_question_len = 16;
    int32_t docqa_turns = 2;
};

// "inf" or a positive number of requests per second.
actorlm::result<double> parse_request_rate(const std::string& text) {
    if (text == "inf") return std::numeric_limits<double>::infinity();
    char* end = nullptr;
    const double rate = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(rate > 0) || !std::isfinite(rate))
        return actorlm::make_error("must be 'inf' or a positive number, got '%s'", text.c_str());
    return rate;
}

// "50,90,99" -> {50, 90, 99}, each in [0, 100].
actorlm::result<std::vector<double>> parse_percentiles(const std::string& text) {
    std::vector<double> out;
    for (size_t start = 0; start <= text.size();) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, comma - start);
        char* end = nullptr;
        const double p = std::strtod(item.c_str(), &end);
        if (item.empty() || *end != '\0' || !(p >= 0 && p <= 100))
            return actorlm::make_error("'%s' is not in [0, 100]", item.c_str());
        out.push_back(p);
        start = comma + 1;
    }
    return out;
}

// "LO:HI" with 0 <= LO < HI.
actorlm::result<std::pair<int32_t, int32_t>> parse_token_range(const std::string& text) {
    const size_t colon = text.find(':');
    int64_t bounds[2] = {-1, -1};
    bool ok = colon != std::string::npos;
    for (int i = 0; ok && i < 2; ++i) {
        const std::string part = i == 0 ? text.substr(0, colon) : text.substr(colon + 1);
        char* end = nullptr;
        const long long v = std::strtoll(part.c_str(), &end, 10);
        ok = !part.empty() && *end == '\0' && v >= 0 && v <= INT32_MAX;
        bounds[i] = v;
    }
    if (!ok || bounds[1] <= bounds[0])
        return actorlm::make_error("must be LO:HI with 0 <= LO < HI, got '%s'", text.c_str());
    return std::pair<int32_t, int32_t>{static_cast<int32_t>(bounds[0]),
                                       static_cast<int32_t>(bounds[1])};
}

// A CLI11 check from one of the parsers above (the option keeps its text).
template <class Parse>
CLI::Validator checked_by(Parse parse) {
    return CLI::Validator(
        [parse](std::string& text) -> std::string {
            auto r = parse(text);
            return r ? std::string() : r.message();
        },
        "", "");
}

// One request body per prompt, as vLLM's random dataset builds them; `input_lens` gets
// each prompt's length in tokens (exact for token ids, word count for words).
std::vector<load_request> build_requests(const bench_args& a, int32_t token_lo, int32_t token_hi,
                                         std::vector<int64_t>& input_lens) {
    std::mt19937_64 rng(a.seed);
    const auto lo_len = static_cast<int32_t>(std::floor(a.input_len * (1.0 - a.range_ratio)));
    const auto hi_len = static_cast<int32_t>(std::ceil(a.input_len * (1.0 + a.range_ratio)));
    std::uniform_int_distribution<int32_t> len_dist(std::max(1, lo_len), std::max(1, hi_len));
    std::uniform_int_distribution<int32_t> tok_dist(token_lo, token_hi - 1);
    std::uniform_int_distribution<size_t> word_dist(0, std::size(k_prompt_words) - 1);
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
                text += k_prompt_words[word_dist(rng)];
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
        if (!a.json_schema.empty()) {
            w.key("response_format").begin_object().field("type", "json_schema");
            w.key("json_schema").begin_object().field("name", "bench").key("schema");
            w.raw(a.json_schema).end_object().end_object();
        }
        w.end_object();
        out.push_back({a.endpoint, w.take()});
    }
    return out;
}

int run_bench_serve(const bench_args& a) {
    // Every value below was checked while the options parsed.
    load_options lo;
    const auto address = actorlm::cli::parse_base_url(a.base_url).value();
    lo.host = address.host;
    lo.port = address.port;
    const double rate = parse_request_rate(a.request_rate).value();
    if (std::isfinite(rate)) lo.request_rate = rate;
    slo_targets slo;
    std::string error;
    for (const auto& item : a.goodput) parse_slo(item, slo, &error);
    const std::vector<double> percentiles = parse_percentiles(a.percentiles).value();
    const auto [token_lo, token_hi] = parse_token_range(a.token_range).value();
    lo.api_key = a.api_key;
    lo.max_concurrency = a.max_concurrency;
    // vLLM's bench shows a tqdm bar; ours goes to stderr, so the table on stdout stays clean.
    actorlm::cli::progress_display progress(stderr, "bench-serve", actorlm::cli::progress_unit::requests);
    lo.on_progress = [&progress](size_t done, size_t total) {
        progress.show(static_cast<int64_t>(done), static_cast<int64_t>(total));
    };
    lo.burstiness = a.burstiness;
    lo.seed = a.seed;
    lo.timeout_s = a.timeout_s;

    std::vector<int64_t> input_lens;
    std::vector<request_result> results;
    double duration_s = 0.0;
    const auto counters_before = fetch_prefix_cache_counters(lo.host, lo.port, lo.api_key);
    if (a.dataset == "doc-qa") {
        docqa_options d;
        d.num_documents = a.docqa_num_documents;
        d.document_len = a.docqa_document_len;
        d.question_len = a.docqa_question_len;
        d.num_turns = a.docqa_turns;
        d.num_conversations = static_cast<size_t>(a.num_prompts);
        d.output_len = a.output_len;
        d.ignore_eos = a.ignore_eos;
        d.model = a.model;
        d.endpoint = a.endpoint;
        d.token_lo = token_lo;
        d.token_hi = token_hi;
        d.seed = a.seed;
        docqa_dataset dataset(d);
        conversation_plan plan = dataset.plan();
        input_lens.assign(static_cast<size_t>(a.num_prompts) * static_cast<size_t>(a.docqa_turns),
                          -1);
        // Record each prompt's length as it is built (follow-ups exist only at run time).
        plan.build = [&dataset, &input_lens, turns = static_cast<size_t>(a.docqa_turns)](
                         size_t c, int32_t t, const request_result* previous) {
            load_request r = dataset.build(c, t, previous);
            input_lens[c * turns + static_cast<size_t>(t)] = dataset.prompt_len(c);
            return r;
        };
        std::fprintf(stderr,
                     "bench-serve: doc-qa, %d conversations x %d turns over %d documents of %d "
                     "%s to %s%s (rate %s conversations/s, max concurrency %d)\n",
                     a.num_prompts, a.docqa_turns, a.docqa_num_documents, a.docqa_document_len,
                     dataset.token_ids() ? "tokens" : "words", a.base_url.c_str(),
                     a.endpoint.c_str(), a.request_rate.c_str(), a.max_concurrency);
        results = run_conversations(lo, plan, &duration_s);
    } else {
        const auto requests = build_requests(a, token_lo, token_hi, input_lens);
        std::fprintf(stderr, "bench-serve: %d requests to %s%s (rate %s, max concurrency %d)\n",
                     a.num_prompts, a.base_url.c_str(), a.endpoint.c_str(), a.request_rate.c_str(),
                     a.max_concurrency);
        results = run_load(lo, requests, &duration_s);
    }
    bench_summary summary = summarize(results, input_lens, duration_s, slo, percentiles);
    const auto counters_after = fetch_prefix_cache_counters(lo.host, lo.port, lo.api_key);
    if (counters_before && counters_after)
        summary.prefix_cache = counter_increase(*counters_before, *counters_after);
    std::printf("%s", summary_table(summary).c_str());
    if (!a.result_file.empty()) {
        json_writer extra;
        extra.begin_object().field("backend", "openai").field("base_url", a.base_url);
        extra.field("endpoint", a.endpoint).field("model_id", a.model).field("dataset", a.dataset);
        extra.field("input_len", a.input_len).field("output_len", a.output_len);
        extra.field("num_prompts", a.num_prompts).field("request_rate", a.request_rate);
        extra.field("burstiness", a.burstiness).field("max_concurrency", a.max_concurrency);
        extra.field("ignore_eos", a.ignore_eos);
        if (a.dataset == "doc-qa") {
            extra.field("docqa_num_documents", a.docqa_num_documents);
            extra.field("docqa_document_len", a.docqa_document_len);
            extra.field("docqa_question_len", a.docqa_question_len);
            extra.field("docqa_turns", a.docqa_turns);
        }
        extra.end_object();
        std::string members = extra.take();
        members = members.substr(1, members.size() - 2);  // splice into the summary object
        std::ofstream f(a.result_file);
        f << summary_json(summary, members) << "\n";
        if (!f) {
            std::fprintf(stderr, "bench-serve: cannot write %s\n", a.result_file.c_str());
            return 1;
        }
    }
    if (!a.plot_file.empty()) {
        const std::string label = a.model.empty() ? a.base_url : a.model + " @ " + a.base_url;
        std::ofstream f(a.plot_file);
        f << render_bench_plot({plot_run{label, summary.requests}});
        if (!f) {
            std::fprintf(stderr, "bench-serve: cannot write %s\n", a.plot_file.c_str());
            return 1;
        }
    }
    return summary.completed > 0 ? 0 : 1;
}

actorlm::cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<bench_args>();
    bench_args& a = *o;
    app.add_option("--base-url", a.base_url, "server URL (http://HOST[:PORT])")
        ->check(actorlm::cli::base_url_text())
        ->capture_default_str();
    app.add_option("--endpoint", a.endpoint, "/v1/completions or /v1/chat/completions")
        ->capture_default_str();
    app.add_option("--model", a.model, "model name sent in requests");
    app.add_option("--dataset,--dataset-name", a.dataset,
                   "random (token ids; words for chat), random-words, or doc-qa (documents "
                   "with follow-up questions, see --docqa-*)")
        ->check(CLI::IsMember({"random", "random-words", "doc-qa"}))
        ->capture_default_str();
    app.add_option("--input-len,--random-input-len", a.input_len, "prompt tokens")
        ->check(CLI::Range(1, 1 << 20))
        ->capture_default_str();
    app.add_option("--output-len,--random-output-len", a.output_len, "max output tokens")
        ->check(CLI::Range(1, 1 << 20))
        ->capture_default_str();
    app.add_option("--random-range-ratio", a.range_ratio, "prompt length spread")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--num-prompts", a.num_prompts,
                   "requests to send (doc-qa: conversations, each of --docqa-turns requests)")
        ->check(CLI::Range(1, 10000000))
        ->capture_default_str();
    app.add_option("--request-rate", a.request_rate, "requests/s (doc-qa: conversations/s), or inf")
        ->check(checked_by(parse_request_rate))
        ->capture_default_str();
    app.add_option("--burstiness", a.burstiness, "gamma shape of arrivals (1 = Poisson)")
        ->check(actorlm::cli::positive());
    app.add_option("--max-concurrency", a.max_concurrency,
                   "requests (doc-qa: conversations) in flight at most (0 = no cap)")
        ->check(actorlm::cli::non_negative());
    app.add_flag("--ignore-eos", a.ignore_eos, "generate exactly --output-len tokens");
    app.add_option("--json-schema", a.json_schema_file,
                   "constrain every request to this JSON schema (response_format json_schema)")
        ->check(CLI::ExistingFile);
    app.add_option("--goodput", a.goodput, "SLOs, e.g. ttft:200 tpot:50 e2el:5000 (ms)")
        ->check(CLI::Validator(
            [](std::string& text) -> std::string {
                slo_targets slo;
                std::string error;
                return parse_slo(text, slo, &error) ? std::string() : error;
            },
            "", "SLO"));
    app.add_option("--metric-percentiles", a.percentiles, "comma-separated, e.g. 50,90,99")
        ->check(checked_by(parse_percentiles))
        ->capture_default_str();
    app.add_option("--token-id-range", a.token_range, "LO:HI range of random prompt token ids")
        ->check(checked_by(parse_token_range))
        ->capture_default_str();
    app.add_option("--seed", a.seed, "dataset and arrival seed");
    app.add_option("--api-key", a.api_key, "sent as Authorization: Bearer");
    app.add_option("--result-file", a.result_file, "write the results as JSON here");
    app.add_option("--plot", a.plot_file,
                   "draw TTFT and ITL CDFs, output tokens/s over time and the request timeline "
                   "as SVG here (overlay saved results with `actorlm bench plot`)");
    app.add_option("--timeout", a.timeout_s, "per-request timeout in seconds")
        ->check(actorlm::cli::positive());
    app.add_option("--docqa-num-documents", a.docqa_num_documents,
                   "doc-qa: distinct documents; each conversation picks one at random")
        ->check(CLI::Range(1, 1 << 20))
        ->capture_default_str();
    app.add_option("--docqa-document-len", a.docqa_document_len,
                   "doc-qa: tokens per document (words for chat)")
        ->check(CLI::Range(1, 1 << 24))
        ->capture_default_str();
    app.add_option("--docqa-question-len", a.docqa_question_len,
                   "doc-qa: tokens per question (words for chat)")
        ->check(CLI::Range(1, 1 << 20))
        ->capture_default_str();
    app.add_option("--docqa-turns", a.docqa_turns,
                   "doc-qa: requests per conversation; turn t's prompt is turn t-1's prompt + "
                   "its answer + a new question")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    return [o] {
        if (!o->json_schema_file.empty()) {
            // Sent as the request's response_format schema, verbatim (the server checks it).
            std::ifstream in(o->json_schema_file, std::ios::binary);
            std::ostringstream ss;
            ss << in.rdbuf();
            o->json_schema = ss.str();
            while (!o->json_schema.empty() && std::isspace(static_cast<unsigned char>(o->json_schema.back())))
                o->json_schema.pop_back();
        }
        return run_bench_serve(*o);
    };
}

actorlm::cli::command_registration reg(
    "bench-serve", "benchmark an OpenAI-compatible server (TTFT, TPOT, ITL, goodput)", setup);

}  // namespace bench_serve_command

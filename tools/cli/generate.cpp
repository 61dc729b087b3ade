// `actorlm generate`: offline generation with the engine core (vLLM's `LLM.generate`).
// One --prompt prints its completion on stdout; --prompts-file reads JSONL
// ({"prompt": ..., optional "request_id", "max_tokens", "temperature", "top_p",
// "top_k", "min_p", "seed", "n", "stop", "ignore_eos"}) and writes one JSON result per
// line, in input order. Engine statistics go to stderr.
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "util/json_string.hpp"
#include "core/llm_engine.hpp"

namespace {

using namespace actorlm;

const char* k_usage =
    "usage: actorlm generate --model PATH (--prompt TEXT | --prompts-file FILE.jsonl)\n"
    "         [--output FILE.jsonl] [--max-tokens N] [--temperature T] [--top-p P] [--top-k K]\n"
    "         [--min-p P] [--seed S] [--n N] [--stop STR]... [--ignore-eos]\n"
    "         [--max-model-len N] [--max-num-seqs N] [--max-num-batched-tokens N]\n"
    "         [--kv-cache-bytes N] [--threads N] [--block-size N] [--no-prefix-caching]\n";

struct options {
    actorlm::engine_config engine;
    std::string prompt, prompts_file, output;
    bool have_prompt = false;
    sampling_params params;
};

bool to_int(const std::string& s, long long& out) {
    char* end = nullptr;
    out = std::strtoll(s.c_str(), &end, 10);
    return !s.empty() && *end == '\0';
}
bool to_float(const std::string& s, float& out) {
    char* end = nullptr;
    out = std::strtof(s.c_str(), &end);
    return !s.empty() && *end == '\0';
}

result<options> parse(const std::vector<std::string>& args) {
    options o;
    o.params.max_tokens = 64;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") return make_error("%s", k_usage);
        if (a == "--ignore-eos") { o.params.ignore_eos = true; continue; }
        if (a == "--no-prefix-caching") { o.engine.enable_prefix_caching = false; continue; }
        if (i + 1 >= args.size()) return make_error("option %s needs a value\n%s", a.c_str(), k_usage);
        const std::string& v = args[++i];
        long long n = 0;
        float f = 0;
        auto need_int = [&]() -> status {
            if (!to_int(v, n)) return make_error("option %s needs an integer, got '%s'", a.c_str(), v.c_str());
            return status::success();
        };
        auto need_float = [&]() -> status {
            if (!to_float(v, f)) return make_error("option %s needs a number, got '%s'", a.c_str(), v.c_str());
            return status::success();
        };
        status st;
        if (a == "--model") o.engine.model_path = v;
        else if (a == "--prompt") { o.prompt = v; o.have_prompt = true; }
        else if (a == "--prompts-file") o.prompts_file = v;
        else if (a == "--output") o.output = v;
        else if (a == "--stop") o.params.stop.push_back(v);
        else if (a == "--max-tokens") { if ((st = need_int())) o.params.max_tokens = static_cast<int32_t>(n); }
        else if (a == "--temperature") { if ((st = need_float())) o.params.temperature = f; }
        else if (a == "--top-p") { if ((st = need_float())) o.params.top_p = f; }
        else if (a == "--top-k") { if ((st = need_int())) o.params.top_k = static_cast<int32_t>(n); }
        else if (a == "--min-p") { if ((st = need_float())) o.params.min_p = f; }
        else if (a == "--seed") { if ((st = need_int())) o.params.seed = static_cast<uint64_t>(n); }
        else if (a == "--n") { if ((st = need_int())) o.params.n = static_cast<int32_t>(n); }
        else if (a == "--max-model-len") { if ((st = need_int())) o.engine.max_model_len = static_cast<int32_t>(n); }
        else if (a == "--max-num-seqs") { if ((st = need_int())) o.engine.max_num_seqs = static_cast<int32_t>(n); }
        else if (a == "--max-num-batched-tokens") { if ((st = need_int())) o.engine.max_num_batched_tokens = static_cast<int32_t>(n); }
        else if (a == "--kv-cache-bytes") { if ((st = need_int())) o.engine.kv_cache_memory_bytes = n; }
        else if (a == "--threads") { if ((st = need_int())) o.engine.num_threads = static_cast<int32_t>(n); }
        else if (a == "--block-size") { if ((st = need_int())) o.engine.block_size = static_cast<int32_t>(n); }
        else return make_error("unknown option %s\n%s", a.c_str(), k_usage);
        if (!st) return st.err();
    }
    if (o.engine.model_path.empty()) return make_error("--model is required\n%s", k_usage);
    if (o.have_prompt == !o.prompts_file.empty())
        return make_error("give exactly one of --prompt and --prompts-file\n%s", k_usage);
    return o;
}



std::string result_json(const core::completion_result& r, const std::string& prompt) {
    std::string j = "{\"request_id\": ";
    append_json_string(j, r.request_id);
    j += ", \"prompt\": ";
    append_json_string(j, prompt);
    j += ", \"num_prompt_tokens\": " + std::to_string(r.prompt_token_ids.size()) + ", \"outputs\": [";
    for (size_t k = 0; k < r.outputs.size(); ++k) {
        const auto& s = r.outputs[k];
        if (k) j += ", ";
        j += "{\"index\": " + std::to_string(s.index) + ", \"text\": ";
        append_json_string(j, s.text);
        j += ", \"token_ids\": [";
        for (size_t t = 0; t < s.token_ids.size(); ++t) {
            if (t) j += ", ";
            j += std::to_string(s.token_ids[t]);
        }
        j += "], \"finish_reason\": ";
        append_json_string(j, actorlm::finish_reason_name(s.finish));
        j += ", \"stop_reason\": ";
        append_json_string(j, s.stop_reason);
        if (!s.error.empty()) {
            j += ", \"error\": ";
            append_json_string(j, s.error);
        }
        j += "}";
    }
    return j + "]}";
}

result<std::vector<generate_request>> read_prompts(const std::string& path,
                                                   const sampling_params& defaults) {
    std::ifstream in(path);
    if (!in) return make_error("cannot open prompts file %s", path.c_str());
    std::vector<generate_request> out;
    simdjson::dom::parser parser;
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        simdjson::dom::element doc;
        if (parser.parse(line).get(doc) != simdjson::SUCCESS || !doc.is_object())
            return make_error("%s:%d: not a JSON object", path.c_str(), line_no);
        generate_request r;
        r.params = defaults;
        std::string_view sv;
        if (doc["prompt"].get(sv) != simdjson::SUCCESS)
            return make_error("%s:%d: missing string field \"prompt\"", path.c_str(), line_no);
        r.prompt = std::string(sv);
        if (doc["request_id"].get(sv) == simdjson::SUCCESS) r.request_id = std::string(sv);
        int64_t i64;
        double d;
        bool b;
        if (doc["max_tokens"].get(i64) == simdjson::SUCCESS) r.params.max_tokens = static_cast<int32_t>(i64);
        if (doc["top_k"].get(i64) == simdjson::SUCCESS) r.params.top_k = static_cast<int32_t>(i64);
        if (doc["n"].get(i64) == simdjson::SUCCESS) r.params.n = static_cast<int32_t>(i64);
        if (doc["seed"].get(i64) == simdjson::SUCCESS) r.params.seed = static_cast<uint64_t>(i64);
        if (doc["temperature"].get(d) == simdjson::SUCCESS) r.params.temperature = static_cast<float>(d);
        if (doc["top_p"].get(d) == simdjson::SUCCESS) r.params.top_p = static_cast<float>(d);
        if (doc["min_p"].get(d) == simdjson::SUCCESS) r.params.min_p = static_cast<float>(d);
        if (doc["ignore_eos"].get(b) == simdjson::SUCCESS) r.params.ignore_eos = b;
        simdjson::dom::array stops;
        if (doc["stop"].get(sv) == simdjson::SUCCESS) r.params.stop = {std::string(sv)};
        else if (doc["stop"].get(stops) == simdjson::SUCCESS)
            for (auto e : stops)
                if (e.get(sv) == simdjson::SUCCESS) r.params.stop.emplace_back(sv);
        out.push_back(std::move(r));
    }
    if (out.empty()) return make_error("%s holds no prompts", path.c_str());
    return out;
}

int run(const std::vector<std::string>& args) {
    auto opts = parse(args);
    if (!opts) {
        std::fprintf(stderr, "actorlm generate: %s\n", opts.message().c_str());
        return 2;
    }
    std::vector<generate_request> reqs;
    if (opts->have_prompt) {
        generate_request r;
        r.request_id = "prompt";
        r.prompt = opts->prompt;
        r.params = opts->params;
        reqs.push_back(std::move(r));
    } else {
        auto rs = read_prompts(opts->prompts_file, opts->params);
        if (!rs) {
            std::fprintf(stderr, "actorlm generate: %s\n", rs.message().c_str());
            return 1;
        }
        reqs = std::move(rs).value();
    }
    std::vector<std::string> prompts;
    for (const auto& r : reqs) prompts.push_back(r.prompt);
    auto eng = core::llm_engine::create(opts->engine);
    if (!eng) {
        std::fprintf(stderr, "actorlm generate: %s\n", eng.message().c_str());
        return 1;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto res = (*eng)->generate(std::move(reqs));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!res) {
        std::fprintf(stderr, "actorlm generate: %s\n", res.message().c_str());
        return 1;
    }
    if (opts->have_prompt) {
        for (const auto& s : (*res)[0].outputs) std::printf("%s\n", s.text.c_str());
    } else {
        std::FILE* out = opts->output.empty() ? stdout : std::fopen(opts->output.c_str(), "w");
        if (!out) {
            std::fprintf(stderr, "actorlm generate: cannot write %s\n", opts->output.c_str());
            return 1;
        }
        for (size_t i = 0; i < res->size(); ++i)
            std::fprintf(out, "%s\n", result_json((*res)[i], prompts[i]).c_str());
        if (out != stdout) std::fclose(out);
    }
    const auto st = (*eng)->stats();
    std::fprintf(stderr,
                 "generate: %zu requests, %lld prompt + %lld generated tokens in %.2f s "
                 "(%.1f tokens/s out), prefix hits %lld/%lld, preemptions %lld\n",
                 res->size(), static_cast<long long>(st.prompt_tokens_total),
                 static_cast<long long>(st.generation_tokens_total), secs,
                 static_cast<double>(st.generation_tokens_total) / secs,
                 static_cast<long long>(st.prefix_cache_hits_total),
                 static_cast<long long>(st.prefix_cache_queries_total),
                 static_cast<long long>(st.num_preemptions_total));
    for (const auto& r : *res)
        for (const auto& s : r.outputs)
            if (s.finish == finish_reason::error) return 1;
    return 0;
}

actorlm::cli::command_registration reg("generate", "offline text generation (prompt or JSONL file)", run);

}  // namespace

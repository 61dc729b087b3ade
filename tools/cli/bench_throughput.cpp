// `actorlm bench-throughput`: offline throughput like `vllm bench throughput`
// with the random dataset: N prompts of exactly --input-len random token ids,
// each generating exactly --output-len tokens (ignore_eos, temperature 1.0,
// top_p 1.0), all submitted at once to the engine core; prints one JSON object
// (requests/s, total and output tokens/s).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "core/llm_engine.hpp"

namespace {

using namespace actorlm;

const char* k_usage =
    "usage: actorlm bench-throughput --model PATH [--num-prompts N] [--input-len N]\n"
    "         [--output-len N] [--max-num-seqs N] [--max-num-batched-tokens N] [--threads N]\n"
    "         [--kv-cache-bytes N] [--seed N]\n";

int run(const std::vector<std::string>& args) {
    actorlm::engine_config cfg;
    cfg.max_num_seqs = 64;
    int64_t num_prompts = 64, input_len = 128, output_len = 128, seed = 0;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h" || i + 1 >= args.size()) {
            std::fprintf(stderr, "%s", k_usage);
            return a == "--help" || a == "-h" ? 0 : 2;
        }
        const std::string& v = args[++i];
        char* end = nullptr;
        const long long n = std::strtoll(v.c_str(), &end, 10);
        const bool is_int = !v.empty() && *end == '\0' && n >= 0;
        if (a == "--model") { cfg.model_path = v; continue; }
        if (!is_int) {
            std::fprintf(stderr, "actorlm bench-throughput: %s needs a non-negative integer, got '%s'\n",
                         a.c_str(), v.c_str());
            return 2;
        }
        if (a == "--num-prompts") num_prompts = n;
        else if (a == "--input-len") input_len = n;
        else if (a == "--output-len") output_len = n;
        else if (a == "--max-num-seqs") cfg.max_num_seqs = static_cast<int32_t>(n);
        else if (a == "--max-num-batched-tokens") cfg.max_num_batched_tokens = static_cast<int32_t>(n);
        else if (a == "--threads") cfg.num_threads = static_cast<int32_t>(n);
        else if (a == "--kv-cache-bytes") cfg.kv_cache_memory_bytes = n;
        else if (a == "--seed") seed = n;
        else {
            std::fprintf(stderr, "actorlm bench-throughput: unknown option %s\n%s", a.c_str(), k_usage);
            return 2;
        }
    }
    if (cfg.model_path.empty() || num_prompts < 1 || input_len < 1 || output_len < 1) {
        std::fprintf(stderr, "actorlm bench-throughput: --model and positive sizes are required\n%s",
                     k_usage);
        return 2;
    }
    cfg.max_model_len = static_cast<int32_t>(input_len + output_len);
    auto eng = core::llm_engine::create(cfg);
    if (!eng) {
        std::fprintf(stderr, "actorlm bench-throughput: %s\n", eng.message().c_str());
        return 1;
    }
    const int32_t vocab = (*eng)->tok().vocab_size();
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    std::vector<generate_request> reqs;
    for (int64_t i = 0; i < num_prompts; ++i) {
        generate_request r;
        r.request_id = std::to_string(i);
        // Random ids away from the low special tokens, as vLLM's random dataset does.
        for (int64_t t = 0; t < input_len; ++t)
            r.prompt_token_ids.push_back(static_cast<int32_t>(
                std::uniform_int_distribution<int32_t>(std::min(vocab - 1, 100), vocab - 1)(rng)));
        r.params.temperature = 1.0f;
        r.params.top_p = 1.0f;
        r.params.ignore_eos = true;
        r.params.max_tokens = static_cast<int32_t>(output_len);
        reqs.push_back(std::move(r));
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto res = (*eng)->generate(std::move(reqs));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!res) {
        std::fprintf(stderr, "actorlm bench-throughput: %s\n", res.message().c_str());
        return 1;
    }
    int64_t out_tokens = 0;
    for (const auto& r : *res)
        for (const auto& s : r.outputs) out_tokens += static_cast<int64_t>(s.token_ids.size());
    const int64_t total = out_tokens + num_prompts * input_len;
    const auto st = (*eng)->stats();
    std::printf("{\"bench\": \"throughput\", \"model\": \"%s\", \"num_prompts\": %lld, "
                "\"input_len\": %lld, \"output_len\": %lld, \"max_num_seqs\": %d, "
                "\"elapsed_s\": %.3f, \"requests_per_s\": %.3f, \"total_tokens_per_s\": %.1f, "
                "\"output_tokens_per_s\": %.1f, \"preemptions\": %lld}\n",
                cfg.model_path.c_str(), static_cast<long long>(num_prompts),
                static_cast<long long>(input_len), static_cast<long long>(output_len),
                cfg.max_num_seqs, secs, static_cast<double>(num_prompts) / secs,
                static_cast<double>(total) / secs, static_cast<double>(out_tokens) / secs,
                static_cast<long long>(st.num_preemptions_total));
    return 0;
}

actorlm::cli::command_registration reg("bench-throughput",
                                       "offline throughput of the engine (vllm bench throughput)",
                                       run);

}  // namespace

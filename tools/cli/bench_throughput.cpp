// `actorlm bench-throughput`: offline throughput like `vllm bench throughput`
// with the random dataset: N prompts of exactly --input-len random token ids,
// each generating exactly --output-len tokens (ignore_eos, temperature 1.0,
// top_p 1.0), all submitted at once to the engine core; prints one JSON object
// (requests/s, total and output tokens/s). Engine flags: engine_options.hpp;
// --max-model-len 0 (the default) means input-len + output-len. With --json-schema FILE
// every request is constrained by that schema (structured outputs; after the document is
// complete a sequence can only write EOS, which ignore_eos keeps going to --output-len).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "core/llm_engine.hpp"
#include "engine_options.hpp"
#include "hub_model_path.hpp"
#include "json_output.hpp"

namespace bench_throughput_command {

using namespace actorlm;

struct options {
    actorlm::cli::hub_revision revision;  // of a --model ORG/NAME
    engine_config engine;
    int64_t num_prompts = 64, input_len = 128, output_len = 128;
    uint64_t seed = 0;
    std::string json_schema_file;
};

int run(const options& o) {
    engine_config cfg = o.engine;
    const int64_t num_prompts = o.num_prompts, input_len = o.input_len, output_len = o.output_len;
    if (cfg.max_model_len == 0) cfg.max_model_len = static_cast<int32_t>(input_len + output_len);
    auto eng = core::llm_engine::create(cfg);
    if (!eng) {
        std::fprintf(stderr, "actorlm bench-throughput: %s\n", eng.message().c_str());
        return 1;
    }
    const int32_t vocab = (*eng)->tok().vocab_size();
    structured_output_params constraint;
    if (!o.json_schema_file.empty()) {
        std::ifstream in(o.json_schema_file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "actorlm bench-throughput: cannot read %s\n",
                         o.json_schema_file.c_str());
            return 1;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        constraint.type = structured_output_params::kind::json_schema;
        constraint.spec = ss.str();
    }
    std::mt19937_64 rng(o.seed);
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
        r.params.structured_output = constraint;
        reqs.push_back(std::move(r));
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto res = (*eng)->generate(std::move(reqs));
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!res) {
        std::fprintf(stderr, "actorlm bench-throughput: %s\n", res.message().c_str());
        return 1;
    }
    int64_t out_tokens = 0, eos_tokens = 0;
    const std::vector<int32_t>& eos = (*eng)->tok().eos_ids();
    for (const auto& r : *res)
        for (const auto& s : r.outputs) {
            out_tokens += static_cast<int64_t>(s.token_ids.size());
            for (int32_t t : s.token_ids) eos_tokens += std::count(eos.begin(), eos.end(), t);
        }
    const int64_t total = out_tokens + num_prompts * input_len;
    const auto st = (*eng)->stats();
    net::json_writer w;
    w.begin_object().field("bench", "throughput").field("model", cfg.model_path);
    w.field("num_prompts", num_prompts).field("input_len", input_len);
    w.field("output_len", output_len).field("max_num_seqs", cfg.max_num_seqs);
    w.field("json_schema", o.json_schema_file);
    w.field("elapsed_s", cli::rounded(secs, 3));
    w.field("requests_per_s", cli::rounded(static_cast<double>(num_prompts) / secs, 3));
    w.field("total_tokens_per_s", cli::rounded(static_cast<double>(total) / secs, 1));
    w.field("output_tokens_per_s", cli::rounded(static_cast<double>(out_tokens) / secs, 1));
    // With ignore_eos, EOS tokens in the output: a constrained sequence writes only EOS once
    // its document is complete, so the rest of its tokens were masked trivially.
    w.field("eos_tokens", eos_tokens);
    w.field("preemptions", st.num_preemptions_total).end_object();
    cli::print_json_line(w);
    return 0;
}

cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    o->engine.max_num_seqs = 64;
    cli::add_engine_options(app, o->engine, cli::k_offline_engine_flags);
    actorlm::cli::add_revision_option(app, o->revision);
    app.add_option("--num-prompts", o->num_prompts, "prompts submitted at once")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--input-len", o->input_len, "prompt tokens (random ids)")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--output-len", o->output_len, "generated tokens per prompt")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--seed", o->seed, "seed of the random prompts");
    app.add_option("--json-schema", o->json_schema_file,
                   "constrain every request to this JSON schema (structured outputs)");
    return [o] {
        if (!cli::resolve_hub_model_path(o->engine, o->revision, "actorlm bench-throughput")) return 1;
        return run(*o);
    };
}

cli::command_registration reg("bench-throughput",
                              "offline throughput of the engine (vllm bench throughput)", setup);

}  // namespace bench_throughput_command

// `actorlm generate`: offline generation with the engine core (vLLM's `LLM.generate`).
// One --prompt prints its completion on stdout; --prompts-file reads JSONL
// ({"prompt": ..., optional "request_id", "max_tokens", "temperature", "top_p",
// "top_k", "min_p", "seed", "n", "stop", "ignore_eos", "vllm_xargs"}) and writes one JSON result
// per line, in input order. Engine statistics go to stderr. Engine and sampling flags are the
// shared groups of engine_options.hpp.
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "core/llm_engine.hpp"
#include "engine_options.hpp"
#include "hub_model_path.hpp"
#include "progress_display.hpp"
#include "net/json_writer.hpp"

namespace generate_command {

using namespace actorlm;

struct options {
    actorlm::cli::hub_revision revision;  // of a --model ORG/NAME
    engine_config engine;
    std::string prompt, prompts_file, output;
    sampling_params params;
};

// One result as a JSON line: request_id, prompt, num_prompt_tokens and the outputs.
std::string result_json(const core::completion_result& r, const std::string& prompt) {
    net::json_writer w;
    w.begin_object().field("request_id", r.request_id).field("prompt", prompt);
    w.field("num_prompt_tokens", static_cast<int64_t>(r.prompt_token_ids.size()));
    w.key("outputs").begin_array();
    for (const auto& s : r.outputs) {
        w.begin_object().field("index", s.index).field("text", s.text);
        w.key("token_ids").begin_array();
        for (int32_t id : s.token_ids) w.value(id);
        w.end_array();
        w.field("finish_reason", actorlm::finish_reason_name(s.finish));
        w.field("stop_reason", s.stop_reason);
        if (!s.error.empty()) w.field("error", s.error);
        w.end_object();
    }
    w.end_array().end_object();
    return w.take();
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
        if (doc["max_tokens"].get(i64) == simdjson::SUCCESS)
            r.params.max_tokens = static_cast<int32_t>(i64);
        if (doc["top_k"].get(i64) == simdjson::SUCCESS) r.params.top_k = static_cast<int32_t>(i64);
        if (doc["n"].get(i64) == simdjson::SUCCESS) r.params.n = static_cast<int32_t>(i64);
        if (doc["seed"].get(i64) == simdjson::SUCCESS) r.params.seed = static_cast<uint64_t>(i64);
        if (doc["temperature"].get(d) == simdjson::SUCCESS)
            r.params.temperature = static_cast<float>(d);
        if (doc["top_p"].get(d) == simdjson::SUCCESS) r.params.top_p = static_cast<float>(d);
        if (doc["min_p"].get(d) == simdjson::SUCCESS) r.params.min_p = static_cast<float>(d);
        if (doc["ignore_eos"].get(b) == simdjson::SUCCESS) r.params.ignore_eos = b;
        // Extra args for plugins' logits processors, as the server's field (docs/plugins.md).
        simdjson::dom::object xargs;
        if (doc["vllm_xargs"].get(xargs) == simdjson::SUCCESS)
            r.params.extra_args_json = simdjson::minify(xargs);
        simdjson::dom::array stops;
        if (doc["stop"].get(sv) == simdjson::SUCCESS)
            r.params.stop = {std::string(sv)};
        else if (doc["stop"].get(stops) == simdjson::SUCCESS)
            for (auto e : stops)
                if (e.get(sv) == simdjson::SUCCESS) r.params.stop.emplace_back(sv);
        out.push_back(std::move(r));
    }
    if (out.empty()) return make_error("%s holds no prompts", path.c_str());
    return out;
}

int run(const options& o) {
    const bool have_prompt = o.prompts_file.empty();
    std::vector<generate_request> reqs;
    if (have_prompt) {
        generate_request r;
        r.request_id = "prompt";
        r.prompt = o.prompt;
        r.params = o.params;
        reqs.push_back(std::move(r));
    } else {
        auto rs = read_prompts(o.prompts_file, o.params);
        if (!rs) {
            std::fprintf(stderr, "actorlm generate: %s\n", rs.message().c_str());
            return 1;
        }
        reqs = std::move(rs).value();
    }
    std::vector<std::string> prompts;
    for (const auto& r : reqs) prompts.push_back(r.prompt);
    cli::progress_display display(stderr, "actorlm generate: weights", cli::progress_unit::bytes);
    engine_config loading = o.engine;
    loading.on_load_progress = [&display](const load_progress& p) {
        display.show(p.bytes_done, p.bytes_total);
    };
    auto eng = core::llm_engine::create(loading);
    if (!eng) {
        std::fprintf(stderr, "actorlm generate: %s\n", eng.message().c_str());
        return 1;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto res = (*eng)->generate(std::move(reqs));
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!res) {
        std::fprintf(stderr, "actorlm generate: %s\n", res.message().c_str());
        return 1;
    }
    if (have_prompt) {
        for (const auto& s : (*res)[0].outputs) std::printf("%s\n", s.text.c_str());
    } else {
        std::FILE* out = o.output.empty() ? stdout : std::fopen(o.output.c_str(), "w");
        if (!out) {
            std::fprintf(stderr, "actorlm generate: cannot write %s\n", o.output.c_str());
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
    if (!o.engine.kv_transfer_config.empty())
        std::fprintf(stderr,
                     "generate: KV connector: external hits %lld/%lld tokens, %lld blocks "
                     "loaded, %lld saved, %lld load errors, %lld save errors\n",
                     static_cast<long long>(st.external_prefix_cache_hits_total),
                     static_cast<long long>(st.external_prefix_cache_queries_total),
                     static_cast<long long>(st.kv_connector_blocks_loaded_total),
                     static_cast<long long>(st.kv_connector_blocks_saved_total),
                     static_cast<long long>(st.kv_connector_load_errors_total),
                     static_cast<long long>(st.kv_connector_save_errors_total));
    if (!o.engine.speculative_config.empty()) {
        std::string per_pos;
        for (int64_t v : st.spec_decode_num_accepted_tokens_per_pos)
            per_pos += (per_pos.empty() ? "" : ",") + std::to_string(v);
        std::fprintf(stderr,
                     "generate: speculative decoding: %lld drafts, %lld of %lld draft tokens "
                     "accepted (%.1f%%), accepted per position [%s]\n",
                     static_cast<long long>(st.spec_decode_num_drafts_total),
                     static_cast<long long>(st.spec_decode_num_accepted_tokens_total),
                     static_cast<long long>(st.spec_decode_num_draft_tokens_total),
                     st.spec_decode_num_draft_tokens_total > 0
                         ? 100.0 * static_cast<double>(st.spec_decode_num_accepted_tokens_total) /
                               static_cast<double>(st.spec_decode_num_draft_tokens_total)
                         : 0.0,
                     per_pos.c_str());
    }
    for (const auto& r : *res)
        for (const auto& s : r.outputs)
            if (s.finish == finish_reason::error) return 1;
    return 0;
}

cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    o->params.max_tokens = 64;
    cli::add_engine_options(app, o->engine, cli::k_offline_engine_flags);
    actorlm::cli::add_revision_option(app, o->revision);
    cli::add_sampling_options(app, o->params);
    // Exactly one prompt source.
    CLI::App* source = app.add_option_group("Prompt", "give exactly one of these");
    source->add_option("--prompt", o->prompt, "one prompt; its completion goes to stdout");
    source
        ->add_option("--prompts-file", o->prompts_file,
                     "JSONL prompts; one JSON result per line, in input order")
        ->check(CLI::ExistingFile);
    source->require_option(1);
    app.add_option("--output", o->output, "write the JSONL results here instead of stdout");
    return [o] {
        if (!cli::resolve_hub_model_path(o->engine, o->revision, "actorlm generate")) return 1;
        return run(*o);
    };
}

cli::command_registration reg("generate", "offline text generation (prompt or JSONL file)", setup);

}  // namespace generate_command

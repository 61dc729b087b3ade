// `actorlm bench-grammar`: the cost of structured outputs per token. Compiles a JSON schema
// (a function-call schema by default) against a tokenizer's vocabulary, builds the token
// mask cache, then runs random walks (each step picks uniformly among the allowed tokens,
// as a random-weight model does) timing fill_next_token_bitmask and accept_token per step.
// Prints one JSON line: compile and cache times, cache size, mask µs p50 / p99 / max.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "json_output.hpp"
#include "base/elapsed.hpp"
#include "structured/compiled_grammar.hpp"
#include "structured/grammar_matcher.hpp"
#include "structured/json_schema_compiler.hpp"
#include "tokenizer/tokenizer.hpp"

namespace bench_grammar_command {

using actorlm::cli::rounded;
using namespace actorlm::structured;
using clock_type = std::chrono::steady_clock;

// A typical tool call: an enum name, an object of mixed arguments, free-text strings.
constexpr const char* k_function_call_schema = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "enum": ["get_weather", "search_flights", "send_email"]},
    "arguments": {
      "type": "object",
      "properties": {
        "location": {"type": "string"},
        "date": {"type": "string", "format": "date"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "max_results": {"type": "integer"},
        "budget": {"type": ["number", "null"]},
        "include_hourly": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 16}, "maxItems": 4}
      },
      "required": ["location", "unit"],
      "additionalProperties": false
    }
  },
  "required": ["name", "arguments"],
  "additionalProperties": false
})";

struct options {
    std::string tok_path, schema_file;
    int walks = 50, warmup = 20, max_tokens = 200;
    uint32_t seed = 1;
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// One uniform random step over the allowed tokens (a stop token one time in four when
// allowed), timing the mask; false when nothing is allowed. Picking works on words
// (popcount), so the benchmark's own cost stays small next to the mask's.
bool step_randomly(grammar_matcher& m, std::vector<uint32_t>& mask, const token_vocabulary& vocab,
                   std::mt19937& rng, double& mask_us, double& accept_us) {
    auto t = clock_type::now();
    m.fill_next_token_bitmask(mask);
    mask_us = std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
    std::vector<int32_t> stops;
    for (int32_t id : vocab.stop_ids())
        if ((mask[static_cast<size_t>(id) >> 5] >> (id & 31)) & 1u) {
            stops.push_back(id);
            mask[static_cast<size_t>(id) >> 5] &= ~(1u << (id & 31));
        }
    size_t total = 0;
    for (uint32_t w : mask) total += static_cast<size_t>(__builtin_popcount(w));
    int32_t pick = -1;
    if (!stops.empty() && (total == 0 || rng() % 4 == 0)) {
        pick = stops[rng() % stops.size()];
    } else if (total > 0) {
        size_t r = rng() % total;
        for (size_t i = 0; i < mask.size(); ++i) {
            const auto n = static_cast<size_t>(__builtin_popcount(mask[i]));
            if (r >= n) {
                r -= n;
                continue;
            }
            uint32_t bits = mask[i];
            for (; r > 0; --r) bits &= bits - 1;
            pick = static_cast<int32_t>(i * 32 + static_cast<size_t>(__builtin_ctz(bits)));
            break;
        }
    }
    if (pick < 0) return false;
    t = clock_type::now();
    const bool ok = m.accept_token(pick);
    accept_us = std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
    return ok;
}

int run_bench(const options& o) {
    std::string schema = k_function_call_schema;
    if (!o.schema_file.empty()) {
        std::ifstream in(o.schema_file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "bench-grammar: cannot read %s\n", o.schema_file.c_str());
            return 1;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        schema = ss.str();
    }
    auto tok = actorlm::load_tokenizer_for_model(o.tok_path);
    if (!tok) {
        std::fprintf(stderr, "bench-grammar: %s\n", tok.message().c_str());
        return 1;
    }
    auto t0 = clock_type::now();
    auto vocab = token_vocabulary::from_tokenizer(**tok);
    const double vocab_s = actorlm::seconds_since(t0);
    t0 = clock_type::now();
    auto g = json_schema_to_grammar(schema);
    if (!g) {
        std::fprintf(stderr, "bench-grammar: %s\n", g.message().c_str());
        return 1;
    }
    auto compiled = compiled_grammar::compile(*g, vocab);
    if (!compiled) {
        std::fprintf(stderr, "bench-grammar: %s\n", compiled.message().c_str());
        return 1;
    }
    const double compile_s = actorlm::seconds_since(t0);
    // Warm-up walks fill the mask cache (each stack context's split is computed on first
    // use); their time is what the first requests of a new schema pay.
    std::mt19937 rng(o.seed);
    std::vector<uint32_t> mask(bitmask_words(vocab->mask_size()));
    double warmup_mask_us = 0;
    for (int w = 0; w < o.warmup; ++w) {
        grammar_matcher m(*compiled);
        double mask_us = 0, accept_us = 0;
        for (int s = 0; s < o.max_tokens && !m.is_terminated(); ++s) {
            const bool ok = step_randomly(m, mask, *vocab, rng, mask_us, accept_us);
            warmup_mask_us += mask_us;
            if (!ok) break;
        }
    }

    std::vector<double> mask_us, accept_us;
    int finished = 0;
    for (int w = 0; w < o.walks; ++w) {
        grammar_matcher m(*compiled);
        for (int s = 0; s < o.max_tokens && !m.is_terminated(); ++s) {
            double mu = 0, au = 0;
            const bool ok = step_randomly(m, mask, *vocab, rng, mu, au);
            mask_us.push_back(mu);
            if (!ok) break;
            accept_us.push_back(au);
        }
        finished += m.is_terminated() ? 1 : 0;
    }
    double mean = 0;
    for (double v : mask_us) mean += v;
    mean /= std::max<size_t>(1, mask_us.size());
    actorlm::net::json_writer jw;
    jw.begin_object().field("tokenizer", o.tok_path);
    jw.field("vocab", static_cast<int64_t>(vocab->mask_size()));
    jw.field("schema", o.schema_file.empty() ? std::string("function-call (built in)") : o.schema_file);
    jw.field("grammar_rules", static_cast<uint64_t>(g->rules().size()));
    jw.field("vocab_s", rounded(vocab_s, 3)).field("compile_s", rounded(compile_s, 4));
    // The mask time of the warm-up walks: what filling the cache cost.
    jw.field("warmup_walks", o.warmup).field("warmup_mask_s", rounded(warmup_mask_us / 1e6, 3));
    jw.field("mask_contexts", static_cast<uint64_t>((*compiled)->num_computed()));
    jw.field("mask_cache_mb", rounded(static_cast<double>((*compiled)->cache_bytes()) / 1e6, 2));
    jw.field("walks", o.walks).field("walks_finished", finished);
    jw.field("steps", static_cast<uint64_t>(mask_us.size()));
    jw.field("mask_us_p50", rounded(percentile(mask_us, 0.5), 2));
    jw.field("mask_us_p99", rounded(percentile(mask_us, 0.99), 2));
    jw.field("mask_us_max", rounded(percentile(mask_us, 1.0), 2));
    jw.field("mask_us_mean", rounded(mean, 2));
    jw.field("accept_us_p50", rounded(percentile(accept_us, 0.5), 2));
    jw.field("accept_us_p99", rounded(percentile(accept_us, 0.99), 2));
    actorlm::cli::print_json_line(jw.end_object());
    return 0;
}

actorlm::cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    app.add_option("--model", o->tok_path, "tokenizer.json, HF model directory or .gguf")
        ->required();
    app.add_option("--schema", o->schema_file, "JSON schema file (default: a function call)");
    app.add_option("--walks", o->walks, "random generations")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--warmup", o->warmup, "untimed generations that fill the mask cache first")
        ->capture_default_str();
    app.add_option("--max-tokens", o->max_tokens, "tokens per generation at most")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--seed", o->seed, "random seed")->capture_default_str();
    return [o] { return run_bench(*o); };
}

actorlm::cli::command_registration reg(
    "bench-grammar", "structured-output token mask time per step (JSON, µs)", setup);

}  // namespace bench_grammar_command

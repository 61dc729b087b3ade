// `actorlm bench-forward`: times cpu_executor on a model file: prefill tokens/s
// of one prompt of --prompt-len tokens, then decode tokens/s at each --batch
// size (every sequence first given --context tokens of context). Prints one JSON
// object with medians and the weight-streaming bound of batch-1 decode. --model,
// --threads, --block-size and --kv-cache-dtype are the shared engine flags.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "engine_options.hpp"
#include "hub_model_path.hpp"
#include "json_output.hpp"
#include "backends/backend.hpp"
#include "backends/cpu/cpu_executor.hpp"
#include "model/model_loader.hpp"
#include "base/elapsed.hpp"
#include "bench/bench_summary.hpp"

namespace bench_forward_command {

using namespace actorlm;

struct options {
    actorlm::cli::hub_revision revision;  // of a --model ORG/NAME
    engine_config engine;  // model, threads, block size, KV cache dtype
    int64_t prompt_len = 512;
    std::string batches = "1,8,32,64";
    int64_t decode_steps = 32;
    int64_t context = 128;
    int64_t repeat = 3;
    double bandwidth_gbps = 65.0;
};

// Sequences with fixed, disjoint block ranges: sequence s owns blocks
// [s * blocks_per_seq, (s + 1) * blocks_per_seq).
struct bench_batch_builder {
    int32_t block_size;
    int32_t blocks_per_seq;

    // `counts[s]` new tokens for sequence s starting at position `starts[s]`.
    forward_batch build(const std::vector<int32_t>& starts, const std::vector<int32_t>& counts,
                        std::mt19937& rng, int64_t vocab) const {
        forward_batch b;
        b.max_blocks_per_seq = blocks_per_seq;
        b.query_start_loc.push_back(0);
        for (size_t s = 0; s < starts.size(); ++s) {
            for (int32_t i = 0; i < counts[s]; ++i) {
                const int32_t pos = starts[s] + i;
                b.token_ids.push_back(static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab)));
                b.positions.push_back(pos);
                b.slot_mapping.push_back(
                    (static_cast<int64_t>(s) * blocks_per_seq + pos / block_size) * block_size +
                    pos % block_size);
            }
            b.logits_indices.push_back(b.num_tokens() - 1);
            b.query_start_loc.push_back(b.num_tokens());
            b.seq_lens.push_back(starts[s] + counts[s]);
            for (int32_t j = 0; j < blocks_per_seq; ++j)
                b.block_tables.push_back(static_cast<int32_t>(s) * blocks_per_seq + j);
        }
        return b;
    }
};

size_t matmul_weight_bytes(const model_weights& w) {
    size_t bytes = w.lm_head.num_bytes;
    for (const layer_weights& l : w.layers)
        for (const tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
            bytes += t->num_bytes;
    return bytes;
}

int run_bench_forward(const options& o) {
    const std::string& model_path = o.engine.model_path;
    const int threads = o.engine.num_threads;
    const int32_t block_size = o.engine.block_size;
    const std::vector<int64_t> batches = cli::parse_positive_int_list(o.batches).value();
    auto model = load_model(model_path);
    if (!model.ok()) {
        std::fprintf(stderr, "bench-forward: %s\n", model.message().c_str());
        return 1;
    }
    auto cpu = find_backend("cpu");
    if (!cpu.ok()) {
        std::fprintf(stderr, "bench-forward: %s\n", cpu.message().c_str());
        return 1;
    }
    auto kv = (*cpu)->resolve_kv_dtype(o.engine.kv_cache_dtype, *model);
    if (!kv.ok()) {
        std::fprintf(stderr, "bench-forward: %s\n", kv.message().c_str());
        return 1;
    }
    const dtype kv_type = *kv;
    const int64_t max_batch = *std::max_element(batches.begin(), batches.end());
    // The prompt and the decode sequences reuse the same blocks (the prompt's K/V
    // is not needed once its timing is done).
    const int32_t prompt_blocks =
        static_cast<int32_t>((o.prompt_len + block_size - 1) / block_size);
    const int32_t blocks_per_seq =
        static_cast<int32_t>((o.context + o.decode_steps + block_size - 1) / block_size);
    const kv_cache_spec spec{
        std::max(prompt_blocks, static_cast<int32_t>(max_batch) * blocks_per_seq), block_size,
        kv_type};
    const std::string weight_type =
        model->weights.layers.empty() ? "?" : dtype_name(model->weights.layers[0].w_up.type);
    const size_t weight_bytes = matmul_weight_bytes(model->weights);
    cpu_executor_options eo;
    eo.num_threads = threads;
    auto ex = cpu_executor::create(model->config, model->weights, spec, eo);
    if (!ex.ok()) {
        std::fprintf(stderr, "bench-forward: %s\n", ex.message().c_str());
        return 1;
    }
    cpu_executor& exe = *ex.value();
    const int64_t vocab = exe.config().vocab_size;
    const bench_batch_builder builder{block_size, blocks_per_seq};
    const bench_batch_builder prompt_builder{block_size, prompt_blocks};
    std::mt19937 rng(7);
    std::vector<float> logits;
    auto run = [&](const forward_batch& b) {
        const status st = exe.forward(b, logits);
        if (!st.ok()) {
            std::fprintf(stderr, "bench-forward: %s\n", st.message().c_str());
            std::exit(1);
        }
    };

    // Prefill: one prompt in one step; the first run warms caches and pages.
    std::vector<double> prefill_s;
    for (int64_t r = 0; r < o.repeat + 1; ++r) {
        const forward_batch b =
            prompt_builder.build({0}, {static_cast<int32_t>(o.prompt_len)}, rng, vocab);
        const auto t0 = std::chrono::steady_clock::now();
        run(b);
        if (r > 0) prefill_s.push_back(seconds_since(t0));
    }
    const double prefill_tps = static_cast<double>(o.prompt_len) / net::percentile(prefill_s, 50.0);

    net::json_writer decode;
    decode.begin_array();
    for (int64_t batch : batches) {
        // Give every sequence its context (untimed), in steps of at most 512 tokens.
        const int64_t per_step = std::max<int64_t>(1, 512 / o.context);
        for (int64_t s0 = 0; s0 < batch; s0 += per_step) {
            std::vector<int32_t> starts, counts;
            for (int64_t s = s0; s < std::min(batch, s0 + per_step); ++s) {
                starts.push_back(0);
                counts.push_back(static_cast<int32_t>(o.context));
            }
            forward_batch b = builder.build(starts, counts, rng, vocab);
            // Sequences s0.. use block ranges s0..: shift their tables and slots.
            for (int32_t& id : b.block_tables) id += static_cast<int32_t>(s0) * blocks_per_seq;
            for (int64_t& slot : b.slot_mapping) slot += s0 * blocks_per_seq * block_size;
            run(b);
        }
        std::vector<double> step_s;
        for (int64_t step = 0; step < o.decode_steps; ++step) {
            const std::vector<int32_t> starts(static_cast<size_t>(batch),
                                              static_cast<int32_t>(o.context + step));
            const std::vector<int32_t> counts(static_cast<size_t>(batch), 1);
            const forward_batch b = builder.build(starts, counts, rng, vocab);
            const auto t0 = std::chrono::steady_clock::now();
            run(b);
            step_s.push_back(seconds_since(t0));
        }
        const double ms = net::percentile(step_s, 50.0) * 1e3;
        decode.begin_object().field("batch", batch).field("context", o.context);
        decode.field("steps", o.decode_steps).field("ms_per_step", cli::rounded(ms, 3));
        decode.field("tokens_per_s", cli::rounded(static_cast<double>(batch) / ms * 1e3, 2));
        decode.end_object();
    }
    const double bound_tps = o.bandwidth_gbps * 1e9 / static_cast<double>(weight_bytes);
    decode.end_array();
    net::json_writer w;
    w.begin_object().field("bench", "forward").field("model", model_path);
    w.field("weights", weight_type).field("kv", dtype_name(kv_type)).field("threads", threads);
    w.key("prefill").begin_object().field("tokens", o.prompt_len);
    w.field("tokens_per_s", cli::rounded(prefill_tps, 2)).end_object();
    w.key("decode").raw(decode.str());
    w.field("weight_bytes_per_token", static_cast<uint64_t>(weight_bytes));
    w.field("bandwidth_gbps", o.bandwidth_gbps);
    w.field("bandwidth_bound_tokens_per_s", cli::rounded(bound_tps, 2)).end_object();
    cli::print_json_line(w);
    return 0;
}

cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    o->engine.num_threads = 2;
    o->engine.kv_cache_dtype = "f32";
    cli::add_engine_options(
        app, o->engine,
        cli::engine_flags::model | cli::engine_flags::threads | cli::engine_flags::kv_layout);
    actorlm::cli::add_revision_option(app, o->revision);
    app.add_option("--prompt-len", o->prompt_len, "prefill tokens")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--batch", o->batches, "decode batch sizes")
        ->type_name("LIST")
        ->check(cli::positive_int_list())
        ->capture_default_str();
    app.add_option("--decode-steps", o->decode_steps, "timed decode steps per batch size")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--context", o->context, "tokens of context before decoding")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--repeat", o->repeat, "timed prefill runs")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--bandwidth-gbps", o->bandwidth_gbps, "memory bandwidth for the bound")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    return [o] {
        if (!cli::resolve_hub_model_path(o->engine, o->revision, "actorlm bench-forward")) return 1;
        return run_bench_forward(*o);
    };
}

cli::command_registration reg("bench-forward",
                              "time the CPU forward pass: prefill and batched decode (JSON)",
                              setup);

}  // namespace bench_forward_command

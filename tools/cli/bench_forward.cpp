// `actorlm bench-forward`: times cpu_executor on a model file: prefill tokens/s
// of one prompt of --prompt-len tokens, then decode tokens/s at each --batch
// size (every sequence first given --context tokens of context). Prints one JSON
// object with medians and the weight-streaming bound of batch-1 decode.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench_args.hpp"
#include "command_registry.hpp"
#include "backends/cpu/cpu_executor.hpp"
#include "model/model_loader.hpp"

namespace {

using namespace actorlm;

struct options {
    std::string model;
    int threads = 2;
    int64_t prompt_len = 512;
    std::vector<int64_t> batches = {1, 8, 32, 64};
    int64_t decode_steps = 32;
    int64_t context = 128;
    int64_t repeat = 3;
    int32_t block_size = 16;
    dtype kv_type = dtype::f32;
    double bandwidth_gbps = 65.0;
};

const char* k_usage =
    "usage: actorlm bench-forward --model PATH [--threads N] [--prompt-len N]\n"
    "         [--batch 1,8,32,64] [--decode-steps N] [--context N] [--repeat N]\n"
    "         [--block-size N] [--kv f32|f16] [--bandwidth-gbps X]\n";


result<options> parse(const std::vector<std::string>& args) {
    options o;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (i + 1 >= args.size()) return make_error("option %s needs a value", a.c_str());
        const std::string& v = args[++i];
        int64_t n = 0;
        if (a == "--model") {
            o.model = v;
        } else if (a == "--batch") {
            if (!cli::parse_positive_int_list(v, o.batches))
                return make_error("bad --batch list '%s'", v.c_str());
        } else if (a == "--kv") {
            if (v != "f32" && v != "f16") return make_error("--kv must be f32 or f16, not '%s'", v.c_str());
            o.kv_type = v == "f16" ? dtype::f16 : dtype::f32;
        } else if (a == "--bandwidth-gbps") {
            o.bandwidth_gbps = std::atof(v.c_str());
            if (!(o.bandwidth_gbps > 0)) return make_error("bad --bandwidth-gbps '%s'", v.c_str());
        } else if (!cli::parse_positive_int(v, n)) {
            return make_error("option %s needs a positive integer, got '%s'", a.c_str(), v.c_str());
        } else if (a == "--threads") {
            o.threads = static_cast<int>(n);
        } else if (a == "--prompt-len") {
            o.prompt_len = n;
        } else if (a == "--decode-steps") {
            o.decode_steps = n;
        } else if (a == "--context") {
            o.context = n;
        } else if (a == "--repeat") {
            o.repeat = n;
        } else if (a == "--block-size") {
            o.block_size = static_cast<int32_t>(n);
        } else {
            return make_error("unknown option %s", a.c_str());
        }
    }
    if (o.model.empty()) return make_error("--model is required");
    return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

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
                b.slot_mapping.push_back((static_cast<int64_t>(s) * blocks_per_seq + pos / block_size) *
                                             block_size + pos % block_size);
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
        for (const tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) bytes += t->num_bytes;
    return bytes;
}

int run_bench_forward(const std::vector<std::string>& args) {
    int exit_code = 0;
    auto parsed = cli::parse_bench_options("bench-forward", k_usage, args, parse, &exit_code);
    if (!parsed) return exit_code;
    const options& o = *parsed;
    auto model = load_model(o.model);
    if (!model.ok()) {
        std::fprintf(stderr, "bench-forward: %s\n", model.message().c_str());
        return 1;
    }
    const int64_t max_batch = *std::max_element(o.batches.begin(), o.batches.end());
    // The prompt and the decode sequences reuse the same blocks (the prompt's K/V
    // is not needed once its timing is done).
    const int32_t prompt_blocks = static_cast<int32_t>((o.prompt_len + o.block_size - 1) / o.block_size);
    const int32_t blocks_per_seq =
        static_cast<int32_t>((o.context + o.decode_steps + o.block_size - 1) / o.block_size);
    const kv_cache_spec spec{std::max(prompt_blocks, static_cast<int32_t>(max_batch) * blocks_per_seq),
                             o.block_size, o.kv_type};
    const std::string weight_type = model->weights.layers.empty() ? "?" : dtype_name(model->weights.layers[0].w_up.type);
    const size_t weight_bytes = matmul_weight_bytes(model->weights);
    cpu_executor_options eo;
    eo.num_threads = o.threads;
    auto ex = cpu_executor::create(model->config, model->weights, spec, eo);
    if (!ex.ok()) {
        std::fprintf(stderr, "bench-forward: %s\n", ex.message().c_str());
        return 1;
    }
    cpu_executor& exe = *ex.value();
    const int64_t vocab = exe.config().vocab_size;
    const bench_batch_builder builder{o.block_size, blocks_per_seq};
    const bench_batch_builder prompt_builder{o.block_size, prompt_blocks};
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
        const forward_batch b = prompt_builder.build({0}, {static_cast<int32_t>(o.prompt_len)}, rng, vocab);
        const auto t0 = std::chrono::steady_clock::now();
        run(b);
        if (r > 0) prefill_s.push_back(seconds_since(t0));
    }
    const double prefill_tps = static_cast<double>(o.prompt_len) / median(prefill_s);

    std::string decode_json;
    for (int64_t batch : o.batches) {
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
            for (int64_t& slot : b.slot_mapping) slot += s0 * blocks_per_seq * o.block_size;
            run(b);
        }
        std::vector<double> step_s;
        for (int64_t step = 0; step < o.decode_steps; ++step) {
            const std::vector<int32_t> starts(static_cast<size_t>(batch), static_cast<int32_t>(o.context + step));
            const std::vector<int32_t> counts(static_cast<size_t>(batch), 1);
            const forward_batch b = builder.build(starts, counts, rng, vocab);
            const auto t0 = std::chrono::steady_clock::now();
            run(b);
            step_s.push_back(seconds_since(t0));
        }
        const double ms = median(step_s) * 1e3;
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s{\"batch\":%lld,\"context\":%lld,\"steps\":%lld,\"ms_per_step\":%.3f,"
                      "\"tokens_per_s\":%.2f}", decode_json.empty() ? "" : ",", static_cast<long long>(batch),
                      static_cast<long long>(o.context), static_cast<long long>(o.decode_steps), ms,
                      static_cast<double>(batch) / ms * 1e3);
        decode_json += buf;
    }
    const double bound_tps = o.bandwidth_gbps * 1e9 / static_cast<double>(weight_bytes);
    std::printf("{\"bench\":\"forward\",\"model\":\"%s\",\"weights\":\"%s\",\"kv\":\"%s\",\"threads\":%d,"
                "\"prefill\":{\"tokens\":%lld,\"tokens_per_s\":%.2f},\"decode\":[%s],"
                "\"weight_bytes_per_token\":%zu,\"bandwidth_gbps\":%.1f,\"bandwidth_bound_tokens_per_s\":%.2f}\n",
                o.model.c_str(), weight_type.c_str(), dtype_name(o.kv_type), o.threads,
                static_cast<long long>(o.prompt_len), prefill_tps, decode_json.c_str(), weight_bytes,
                o.bandwidth_gbps, bound_tps);
    return 0;
}

actorlm::cli::command_registration reg("bench-forward", "time the CPU forward pass: prefill and batched decode (JSON)",
                                       run_bench_forward);

}  // namespace

// `actorlm bench-gpu`: decode and prefill throughput of the CUDA executor on a
// synthetic model (Llama-3-8B shape by default, BF16, random weights generated on
// the device), and batch-1 decode as a share of the HBM bandwidth bound
// (weight bytes / (2 x memory clock x bus width)). Prints a summary and JSON.
// Compiled only with the CUDA backend (ACTORLM_WITH_CUDA).
#ifdef ACTORLM_WITH_CUDA

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "backends/cuda/cuda_executor.hpp"
#include "json_output.hpp"
#include "base/elapsed.hpp"

namespace bench_gpu_command {

using namespace actorlm;
using namespace actorlm::cuda;

struct bench_options {
    std::string batches = "1,8,64,256";
    int32_t context = 512;  // tokens already in each sequence's cache at decode
    int32_t steps = 32;     // timed decode steps per batch size
    int32_t prefill_tokens = 1024;
    int32_t prefill_runs = 3;
    int32_t cuda_device = 0;
    std::string type = "bf16";
    std::string gemv = "on";  // small-batch GEMMs through our gemv (else cuBLAS)
    std::string json_path;
};

model_config llama3_8b() {
    model_config c;
    c.name = "llama-3-8b (synthetic)";
    c.vocab_size = 128256;
    c.hidden_size = 4096;
    c.intermediate_size = 14336;
    c.num_layers = 32;
    c.num_heads = 32;
    c.num_kv_heads = 8;
    c.head_dim = 128;
    c.max_position = 8192;
    c.rope_theta = 500000.0f;
    c.rope_scaling = {rope_scaling_type::llama3, 8.0f, 1.0f, 4.0f, 8192};
    return c;
}

constexpr int32_t k_block_size = 16;

// `num_seqs` sequences with `context` cached tokens each, one new token each
// (decode), or one sequence of `new_tokens` from position 0 (prefill).
forward_batch make_batch(int32_t num_seqs, int32_t start, int32_t new_tokens,
                         int32_t blocks_per_seq) {
    forward_batch b;
    b.max_blocks_per_seq = blocks_per_seq;
    b.query_start_loc.push_back(0);
    for (int32_t s = 0; s < num_seqs; ++s) {
        for (int32_t k = 0; k < blocks_per_seq; ++k)
            b.block_tables.push_back(s * blocks_per_seq + k);
        for (int32_t p = start; p < start + new_tokens; ++p) {
            b.token_ids.push_back((s * 7919 + p * 31) % 128000);
            b.positions.push_back(p);
            b.slot_mapping.push_back(static_cast<int64_t>(s * blocks_per_seq + p / k_block_size) *
                                         k_block_size +
                                     p % k_block_size);
        }
        b.query_start_loc.push_back(b.num_tokens());
        b.seq_lens.push_back(start + new_tokens);
        b.logits_indices.push_back(b.num_tokens() - 1);
    }
    return b;
}

int run_bench_gpu(const bench_options& opts) {
    struct resolved {
        std::vector<int32_t> batches;
        int32_t context, steps, prefill_tokens, prefill_runs, device;
        dtype type;
        bool gemv;
        std::string json_path;
    } o;
    const std::vector<int64_t> batches = cli::parse_positive_int_list(opts.batches).value();
    for (int64_t b : batches) o.batches.push_back(static_cast<int32_t>(b));
    o.context = opts.context;
    o.steps = opts.steps;
    o.prefill_tokens = opts.prefill_tokens;
    o.prefill_runs = opts.prefill_runs;
    o.device = opts.cuda_device;
    o.type = opts.type == "f16" ? dtype::f16 : opts.type == "f32" ? dtype::f32 : dtype::bf16;
    o.gemv = opts.gemv == "on";
    o.json_path = opts.json_path;
    if (cuda_device_count() == 0) {
        std::fprintf(stderr, "bench-gpu: no CUDA device\n");
        return 1;
    }
    const model_config c = llama3_8b();
    int32_t max_batch = 0;
    for (int32_t b : o.batches) max_batch = std::max(max_batch, b);
    const int32_t warmup = 3;
    const int32_t decode_len = o.context + warmup + o.steps;
    const int32_t blocks_per_seq = (decode_len + k_block_size - 1) / k_block_size;
    // The prefill sequence reuses the first blocks of the cache (contents do not matter).
    const int32_t prefill_blocks = (o.prefill_tokens + k_block_size - 1) / k_block_size;
    cuda_executor_options eo;
    eo.device = o.device;
    eo.compute_type = o.type;
    eo.kv_block_size = k_block_size;
    eo.kv_num_blocks = std::max(max_batch * blocks_per_seq, prefill_blocks);
    eo.max_num_tokens = std::max(max_batch, o.prefill_tokens);
    eo.max_num_logits = max_batch;
    eo.use_small_batch_gemv = o.gemv;
    const auto t_create = std::chrono::steady_clock::now();
    auto ex = cuda_executor::create_synthetic(c, 1234, eo);
    if (!ex.ok()) {
        std::fprintf(stderr, "bench-gpu: %s\n", ex.message().c_str());
        return 1;
    }
    const double create_s = seconds_since(t_create);
    cuda_executor& e = **ex;
    const device_info& dev = e.device();

    struct decode_result {
        int32_t batch;
        double step_ms, tokens_per_s;
    };
    std::vector<decode_result> decode;
    for (int32_t batch : o.batches) {
        std::vector<gpu_sampling_params> params(static_cast<size_t>(batch));
        double elapsed = 0;
        for (int32_t step = 0; step < warmup + o.steps; ++step) {
            const forward_batch fb = make_batch(batch, o.context - 1 + step, 1, blocks_per_seq);
            const auto t0 = std::chrono::steady_clock::now();
            auto ids = e.forward_sample(fb, params);
            if (!ids.ok()) {
                std::fprintf(stderr, "bench-gpu: decode batch %d: %s\n", batch,
                             ids.message().c_str());
                return 1;
            }
            if (step >= warmup) elapsed += seconds_since(t0);
        }
        decode.push_back({batch, elapsed / o.steps * 1e3, batch * o.steps / elapsed});
    }

    const forward_batch pf = make_batch(1, 0, o.prefill_tokens, prefill_blocks);
    std::vector<gpu_sampling_params> one(1);
    double prefill_s = 0;
    for (int32_t run = 0; run < 1 + o.prefill_runs; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        auto ids = e.forward_sample(pf, one);
        if (!ids.ok()) {
            std::fprintf(stderr, "bench-gpu: prefill: %s\n", ids.message().c_str());
            return 1;
        }
        if (run > 0) prefill_s += seconds_since(t0);
    }
    const double prefill_tps = o.prefill_tokens * o.prefill_runs / prefill_s;

    const double bytes = static_cast<double>(e.decode_read_bytes());
    const double bound_tps = dev.peak_bandwidth_bytes_per_s / bytes;
    const double b1_tps = decode.front().batch == 1 ? decode.front().tokens_per_s : 0.0;
    const double pct = b1_tps > 0 ? 100.0 * b1_tps / bound_tps : 0.0;

    std::printf("==== actorlm bench-gpu ====\n");
    std::printf("device            %s (%d SMs, %.1f GiB)\n", dev.name.c_str(), dev.num_sms,
                dev.total_memory_bytes / 1073741824.0);
    std::printf("model             %s, %s, synthetic weights (%.2f GB, setup %.1f s)\n",
                c.name.c_str(), dtype_name(o.type), e.weight_bytes() / 1e9, create_s);
    std::printf("small-batch GEMM  %s\n", o.gemv ? "actorlm gemv (<= 4 rows)" : "cuBLAS");
    std::printf("decode context    %d tokens, %d timed steps (greedy sampling on device)\n",
                o.context, o.steps);
    for (const auto& d : decode)
        std::printf("decode batch %-4d %9.1f tok/s  (%.2f ms/step)\n", d.batch, d.tokens_per_s,
                    d.step_ms);
    std::printf("prefill %d tok   %9.1f tok/s\n", o.prefill_tokens, prefill_tps);
    std::printf("HBM bandwidth     %.0f GB/s theoretical; decode streams %.2f GB/step\n",
                dev.peak_bandwidth_bytes_per_s / 1e9, bytes / 1e9);
    std::printf("batch-1 bound     %.1f tok/s; measured %.1f tok/s = %.1f%% (goal >= 70%%)\n",
                bound_tps, b1_tps, pct);

    net::json_writer js;
    js.begin_object().field("device", dev.name).field("dtype", dtype_name(o.type));
    js.field("model", c.name).field("gemv", o.gemv).field("context", o.context);
    js.key("decode").begin_array();
    for (const auto& d : decode)
        js.begin_object()
            .field("batch", d.batch)
            .field("tokens_per_s", d.tokens_per_s)
            .field("ms_per_step", d.step_ms)
            .end_object();
    js.end_array();
    js.key("prefill").begin_object().field("tokens", o.prefill_tokens);
    js.field("tokens_per_s", prefill_tps).end_object();
    js.field("weight_bytes_per_step", bytes);
    js.field("peak_bandwidth_bytes_per_s", dev.peak_bandwidth_bytes_per_s);
    js.field("batch1_bound_tokens_per_s", bound_tps).field("batch1_percent_of_bound", pct);
    js.end_object();
    cli::print_json_line(js);
    if (!o.json_path.empty()) {
        std::ofstream f(o.json_path);
        f << js.str() << "\n";
        if (!f) {
            std::fprintf(stderr, "bench-gpu: cannot write %s\n", o.json_path.c_str());
            return 1;
        }
    }
    return 0;
}

cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<bench_options>();
    app.add_option("--batches", o->batches, "decode batch sizes")
        ->type_name("LIST")
        ->check(cli::positive_int_list())
        ->capture_default_str();
    app.add_option("--context", o->context, "cached tokens per sequence at decode")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--steps", o->steps, "timed decode steps per batch size")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--prefill", o->prefill_tokens, "prefill tokens")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--dtype", o->type, "weight and activation type")
        ->check(CLI::IsMember({"bf16", "f16", "f32"}))
        ->capture_default_str();
    app.add_option("--cuda-device", o->cuda_device, "CUDA device index")
        ->check(actorlm::cli::non_negative())
        ->capture_default_str();
    app.add_option("--gemv", o->gemv, "small-batch GEMMs through actorlm's gemv (on) or cuBLAS")
        ->check(CLI::IsMember({"on", "off"}))
        ->capture_default_str();
    app.add_option("--json", o->json_path, "also write the JSON here");
    return [o] { return run_bench_gpu(*o); };
}

cli::command_registration reg("bench-gpu",
                              "CUDA decode/prefill throughput on a synthetic Llama-3-8B", setup);

}  // namespace bench_gpu_command

#endif  // ACTORLM_WITH_CUDA

// `actorlm bench-gpu`: decode and prefill throughput of the CUDA executor on a
// synthetic model (Llama-3-8B shape by default, BF16, random weights generated on
// the device), and batch-1 decode as a share of the HBM bandwidth bound
// (weight bytes / (2 x memory clock x bus width)). Prints a summary and JSON.
// Compiled only with the CUDA backend (ACTORLM_WITH_CUDA).
#ifdef ACTORLM_WITH_CUDA

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "backends/cuda/cuda_executor.hpp"

namespace {

using namespace actorlm;
using namespace actorlm::cuda;

struct bench_options {
    std::vector<int32_t> batches = {1, 8, 64, 256};
    int32_t context = 512;       // tokens already in each sequence's cache at decode
    int32_t steps = 32;          // timed decode steps per batch size
    int32_t prefill_tokens = 1024;
    int32_t prefill_runs = 3;
    int32_t device = 0;
    dtype type = dtype::bf16;
    bool gemv = true;            // small-batch GEMMs through our gemv (else cuBLAS)
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
        for (int32_t k = 0; k < blocks_per_seq; ++k) b.block_tables.push_back(s * blocks_per_seq + k);
        for (int32_t p = start; p < start + new_tokens; ++p) {
            b.token_ids.push_back((s * 7919 + p * 31) % 128000);
            b.positions.push_back(p);
            b.slot_mapping.push_back(static_cast<int64_t>(s * blocks_per_seq + p / k_block_size) *
                                         k_block_size + p % k_block_size);
        }
        b.query_start_loc.push_back(b.num_tokens());
        b.seq_lens.push_back(start + new_tokens);
        b.logits_indices.push_back(b.num_tokens() - 1);
    }
    return b;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool parse(const std::vector<std::string>& args, bench_options& o) {
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto next = [&]() -> const char* { return i + 1 < args.size() ? args[++i].c_str() : nullptr; };
        const char* v = nullptr;
        if (a == "--help" || a == "-h") return false;
        if (!(v = next())) {
            std::fprintf(stderr, "bench-gpu: %s needs a value\n", a.c_str());
            return false;
        }
        if (a == "--batches") {
            o.batches.clear();
            std::stringstream ss(v);
            for (std::string item; std::getline(ss, item, ',');) o.batches.push_back(std::atoi(item.c_str()));
        } else if (a == "--context") o.context = std::atoi(v);
        else if (a == "--steps") o.steps = std::atoi(v);
        else if (a == "--prefill") o.prefill_tokens = std::atoi(v);
        else if (a == "--device") o.device = std::atoi(v);
        else if (a == "--json") o.json_path = v;
        else if (a == "--gemv") {
            const std::string g = v;
            if (g != "on" && g != "off") {
                std::fprintf(stderr, "bench-gpu: --gemv must be on or off\n");
                return false;
            }
            o.gemv = g == "on";
        }
        else if (a == "--dtype") {
            const std::string t = v;
            if (t == "bf16") o.type = dtype::bf16;
            else if (t == "f16") o.type = dtype::f16;
            else if (t == "f32") o.type = dtype::f32;
            else {
                std::fprintf(stderr, "bench-gpu: --dtype must be bf16, f16 or f32\n");
                return false;
            }
        } else {
            std::fprintf(stderr, "bench-gpu: unknown option %s\n", a.c_str());
            return false;
        }
    }
    for (int32_t b : o.batches)
        if (b <= 0) return false;
    return !o.batches.empty() && o.context > 0 && o.steps > 0 && o.prefill_tokens > 0;
}

int run_bench_gpu(const std::vector<std::string>& args) {
    bench_options o;
    if (!parse(args, o)) {
        std::fprintf(stderr,
                     "usage: actorlm bench-gpu [--batches 1,8,64,256] [--context 512] [--steps 32]\n"
                     "                         [--prefill 1024] [--dtype bf16|f16|f32] [--device 0]\n"
                     "                         [--gemv on|off] [--json out.json]\n");
        return 2;
    }
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

    struct decode_result { int32_t batch; double step_ms, tokens_per_s; };
    std::vector<decode_result> decode;
    for (int32_t batch : o.batches) {
        std::vector<gpu_sampling_params> params(static_cast<size_t>(batch));
        double elapsed = 0;
        for (int32_t step = 0; step < warmup + o.steps; ++step) {
            const forward_batch fb = make_batch(batch, o.context - 1 + step, 1, blocks_per_seq);
            const auto t0 = std::chrono::steady_clock::now();
            auto ids = e.forward_sample(fb, params);
            if (!ids.ok()) {
                std::fprintf(stderr, "bench-gpu: decode batch %d: %s\n", batch, ids.message().c_str());
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
        std::printf("decode batch %-4d %9.1f tok/s  (%.2f ms/step)\n", d.batch, d.tokens_per_s, d.step_ms);
    std::printf("prefill %d tok   %9.1f tok/s\n", o.prefill_tokens, prefill_tps);
    std::printf("HBM bandwidth     %.0f GB/s theoretical; decode streams %.2f GB/step\n",
                dev.peak_bandwidth_bytes_per_s / 1e9, bytes / 1e9);
    std::printf("batch-1 bound     %.1f tok/s; measured %.1f tok/s = %.1f%% (goal >= 70%%)\n",
                bound_tps, b1_tps, pct);

    std::ostringstream js;
    js << "{\"device\":\"" << dev.name << "\",\"dtype\":\"" << dtype_name(o.type)
       << "\",\"model\":\"" << c.name << "\",\"gemv\":" << (o.gemv ? "true" : "false")
       << ",\"context\":" << o.context << ",\"decode\":[";
    for (size_t i = 0; i < decode.size(); ++i)
        js << (i ? "," : "") << "{\"batch\":" << decode[i].batch << ",\"tokens_per_s\":"
           << decode[i].tokens_per_s << ",\"ms_per_step\":" << decode[i].step_ms << "}";
    js << "],\"prefill\":{\"tokens\":" << o.prefill_tokens << ",\"tokens_per_s\":" << prefill_tps
       << "},\"weight_bytes_per_step\":" << bytes << ",\"peak_bandwidth_bytes_per_s\":"
       << dev.peak_bandwidth_bytes_per_s << ",\"batch1_bound_tokens_per_s\":" << bound_tps
       << ",\"batch1_percent_of_bound\":" << pct << "}";
    std::printf("%s\n", js.str().c_str());
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

actorlm::cli::command_registration reg("bench-gpu",
                                       "CUDA decode/prefill throughput on a synthetic Llama-3-8B",
                                       run_bench_gpu);

}  // namespace

#endif  // ACTORLM_WITH_CUDA

// `actorlm bench-matmul`: times cpu::matmul for one weight type and shape at
// several token counts and prints one JSON object per count (GFLOP/s, GB/s of
// weights streamed). Weights are spread over enough copies to exceed the caches,
// as in a real forward pass; each figure is the median of several timed runs.
// cpu_us_per_call (process CPU time / threads) shows the cost without the time
// lost to other processes on a shared machine (spin-waiting counts as CPU time).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_args.hpp"
#include "command_registry.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/half.hpp"
#include "cpu/matmul.hpp"
#include "cpu/weight_panels.hpp"

namespace {

using namespace actorlm;

struct options {
    dtype type = dtype::f32;
    int64_t rows = 1536, cols = 576;
    std::vector<int64_t> tokens = {1, 8, 32, 512};
    int threads = 2;
    int repeat = 7;
    int64_t working_set_mb = 256;
    bool panels = false;  // quantized types: the 16-row panel layout cpu_executor uses on avx512
};

const char* k_usage =
    "usage: actorlm bench-matmul [--type f32|f16|bf16|q8_0|q4_0|q5_0|q4_k|q6_k] [--rows N]\n"
    "         [--cols N] [--tokens 1,8,32,512] [--threads N] [--repeat N]\n"
    "         [--working-set-mb N] [--level portable|avx2|avx512] [--layout rows|panels]\n";


result<dtype> parse_type(const std::string& s) {
    for (dtype t : {dtype::f32, dtype::f16, dtype::bf16, dtype::q8_0, dtype::q4_0, dtype::q5_0, dtype::q4_k,
                    dtype::q6_k}) {
        std::string name = dtype_name(t);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        if (name == s) return t;
    }
    return make_error("unknown --type '%s'", s.c_str());
}

result<options> parse(const std::vector<std::string>& args) {
    options o;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (i + 1 >= args.size()) return make_error("option %s needs a value", a.c_str());
        const std::string& v = args[++i];
        int64_t n = 0;
        if (a == "--type") {
            auto t = parse_type(v);
            if (!t.ok()) return t.err();
            o.type = *t;
        } else if (a == "--tokens") {
            if (!cli::parse_positive_int_list(v, o.tokens))
                return make_error("bad --tokens list '%s'", v.c_str());
        } else if (a == "--layout") {
            if (v != "rows" && v != "panels") return make_error("bad --layout '%s' (rows or panels)", v.c_str());
            o.panels = v == "panels";
        } else if (a == "--level") {
            auto level = cpu::parse_cpu_level(v);
            if (!level.ok()) return level.err();
            if (auto st = cpu::set_cpu_level(*level); !st.ok()) return st.err();
        } else if (!cli::parse_positive_int(v, n)) {
            return make_error("option %s needs a positive integer, got '%s'", a.c_str(), v.c_str());
        } else if (a == "--rows") {
            o.rows = n;
        } else if (a == "--cols") {
            o.cols = n;
        } else if (a == "--threads") {
            o.threads = static_cast<int>(n);
        } else if (a == "--repeat") {
            o.repeat = static_cast<int>(n);
        } else if (a == "--working-set-mb") {
            o.working_set_mb = n;
        } else {
            return make_error("unknown option %s", a.c_str());
        }
    }
    if (o.cols % dtype_block_elems(o.type) != 0)
        return make_error("--cols %lld is not a multiple of the %s block size %lld",
                          static_cast<long long>(o.cols), dtype_name(o.type),
                          static_cast<long long>(dtype_block_elems(o.type)));
    if (o.panels && dtype_block_elems(o.type) == 1)
        return make_error("--layout panels needs a quantized --type");
    return o;
}

// Random weights: floats in [-1, 1]; quantized blocks get random quants and small scales.
std::vector<uint8_t> random_weights(dtype type, size_t bytes, std::mt19937& rng) {
    std::vector<uint8_t> w(bytes);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    const size_t block_bytes = dtype_block_bytes(type);
    for (size_t at = 0; at < bytes; at += block_bytes) {
        switch (type) {
            case dtype::f32: { const float f = uni(rng); std::memcpy(&w[at], &f, 4); break; }
            case dtype::f16: { const uint16_t h = cpu::fp32_to_fp16(uni(rng)); std::memcpy(&w[at], &h, 2); break; }
            case dtype::bf16: { const uint16_t h = cpu::fp32_to_bf16(uni(rng)); std::memcpy(&w[at], &h, 2); break; }
            default: {
                for (size_t i = 0; i < block_bytes; ++i) w[at + i] = static_cast<uint8_t>(rng());
                const uint16_t d = cpu::fp32_to_fp16(0.01f);
                const size_t d_at = type == dtype::q6_k ? 208 : 0;
                std::memcpy(&w[at + d_at], &d, 2);
                if (type == dtype::q4_k) std::memcpy(&w[at + 2], &d, 2);
            }
        }
    }
    return w;
}

double process_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int run_bench_matmul(const std::vector<std::string>& args) {
    int exit_code = 0;
    auto parsed = cli::parse_bench_options("bench-matmul", k_usage, args, parse, &exit_code);
    if (!parsed) return exit_code;
    const options& o = *parsed;
    const size_t matrix_bytes = dtype_row_bytes(o.type, o.cols) * static_cast<size_t>(o.rows);
    const size_t copies = std::max<size_t>(
        1, static_cast<size_t>(o.working_set_mb) * 1024 * 1024 / matrix_bytes);
    std::mt19937 rng(1);
    const std::vector<uint8_t> first = random_weights(o.type, matrix_bytes, rng);
    std::vector<uint8_t> all(matrix_bytes * copies);
    for (size_t c = 0; c < copies; ++c) std::memcpy(&all[c * matrix_bytes], first.data(), matrix_bytes);

    std::vector<tensor> views(copies);
    for (size_t c = 0; c < copies; ++c) {
        views[c].name = "bench";
        views[c].type = o.type;
        views[c].shape = {o.rows, o.cols};
        views[c].data = &all[c * matrix_bytes];
        views[c].num_bytes = matrix_bytes;
    }
    cpu::thread_pool pool(o.threads);
    std::vector<std::shared_ptr<void>> packed_storage;
    if (o.panels) {
        for (tensor& v : views) v = cpu::repack_to_panels(v, packed_storage, pool);
        std::vector<uint8_t>().swap(all);  // the row copies are no longer read
    }
    std::normal_distribution<float> normal(0.0f, 1.0f);
    size_t next = 0;
    for (int64_t tokens : o.tokens) {
        std::vector<float> x(static_cast<size_t>(tokens * o.cols));
        for (float& v : x) v = normal(rng);
        std::vector<float> y(static_cast<size_t>(tokens * o.rows));
        // Each timed sample runs over enough copies for ~20 ms, so the weights come
        // from memory (as in a forward pass) and the clock resolution does not matter.
        const double flops_per_call = 2.0 * static_cast<double>(tokens * o.rows * o.cols);
        const size_t calls = std::clamp<size_t>(static_cast<size_t>(2e9 / 50.0 / flops_per_call), 1, copies);
        std::vector<double> per_call_s, cpu_per_call_s;
        for (int rep = 0; rep < o.repeat + 1; ++rep) {
            const double cpu0 = process_cpu_seconds();
            const auto t0 = std::chrono::steady_clock::now();
            for (size_t i = 0; i < calls; ++i) {
                cpu::matmul(views[next], x.data(), tokens, y.data(), pool);
                next = (next + 1) % copies;
            }
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            const double cpu = (process_cpu_seconds() - cpu0) / pool.size();
            if (rep > 0) {  // rep 0 warms up
                per_call_s.push_back(s / static_cast<double>(calls));
                cpu_per_call_s.push_back(cpu / static_cast<double>(calls));
            }
        }
        std::sort(per_call_s.begin(), per_call_s.end());
        std::sort(cpu_per_call_s.begin(), cpu_per_call_s.end());
        const double median = per_call_s[per_call_s.size() / 2];
        const double cpu_median = cpu_per_call_s[cpu_per_call_s.size() / 2];
        std::printf("{\"bench\":\"matmul\",\"type\":\"%s\",\"layout\":\"%s\",\"level\":\"%s\",\"rows\":%lld,\"cols\":%lld,"
                    "\"tokens\":%lld,\"threads\":%d,\"us_per_call\":%.2f,\"gflops\":%.2f,"
                    "\"weight_gbps\":%.2f,\"cpu_us_per_call\":%.2f,\"cpu_gflops\":%.2f}\n",
                    dtype_name(o.type), o.panels ? "panels" : "rows",
                    cpu::cpu_level_name(cpu::active_cpu_level()),
                    static_cast<long long>(o.rows), static_cast<long long>(o.cols),
                    static_cast<long long>(tokens), pool.size(), median * 1e6,
                    flops_per_call / median * 1e-9, static_cast<double>(matrix_bytes) / median * 1e-9,
                    cpu_median * 1e6, flops_per_call / cpu_median * 1e-9);
        std::fflush(stdout);
    }
    return 0;
}

actorlm::cli::command_registration reg("bench-matmul", "time cpu matmul kernels (JSON)",
                                       run_bench_matmul);

}  // namespace

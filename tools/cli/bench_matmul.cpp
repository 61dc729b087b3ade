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
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "json_output.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/half.hpp"
#include "cpu/matmul.hpp"
#include "cpu/weight_panels.hpp"

namespace bench_matmul_command {

using namespace actorlm;

struct options {
    std::string type_name = "f32";
    int64_t rows = 1536, cols = 576;
    std::string tokens = "1,8,32,512";
    int threads = 2;
    int repeat = 7;
    int64_t working_set_mb = 256;
    std::string level;            // empty: the detected (or ACTORLM_CPU) level
    std::string layout = "rows";  // panels: the 16-row layout cpu_executor uses on avx512
};

const std::vector<dtype> k_types = {dtype::f32,  dtype::f16,  dtype::bf16, dtype::q8_0,
                                    dtype::q4_0, dtype::q5_0, dtype::q4_k, dtype::q6_k};

std::string lower_name(dtype t) {
    std::string name = dtype_name(t);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    return name;
}

// Checks the options that depend on each other; errors name the option.
result<dtype> check_options(const options& o) {
    dtype type = dtype::f32;
    for (dtype t : k_types)
        if (lower_name(t) == o.type_name) type = t;
    if (o.cols % dtype_block_elems(type) != 0)
        return make_error("--cols %lld is not a multiple of the %s block size %lld",
                          static_cast<long long>(o.cols), dtype_name(type),
                          static_cast<long long>(dtype_block_elems(type)));
    if (o.layout == "panels" && dtype_block_elems(type) == 1)
        return make_error("--layout panels needs a quantized --dtype");
    if (!o.level.empty()) {
        auto level = cpu::parse_cpu_level(o.level);
        if (!level.ok()) return make_error("--level: %s", level.message().c_str());
        if (auto st = cpu::set_cpu_level(*level); !st.ok())
            return make_error("--level: %s", st.message().c_str());
    }
    return type;
}

// Random weights: floats in [-1, 1]; quantized blocks get random quants and small scales.
std::vector<uint8_t> random_weights(dtype type, size_t bytes, std::mt19937& rng) {
    std::vector<uint8_t> w(bytes);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    const size_t block_bytes = dtype_block_bytes(type);
    for (size_t at = 0; at < bytes; at += block_bytes) {
        switch (type) {
            case dtype::f32: {
                const float f = uni(rng);
                std::memcpy(&w[at], &f, 4);
                break;
            }
            case dtype::f16: {
                const uint16_t h = cpu::fp32_to_fp16(uni(rng));
                std::memcpy(&w[at], &h, 2);
                break;
            }
            case dtype::bf16: {
                const uint16_t h = cpu::fp32_to_bf16(uni(rng));
                std::memcpy(&w[at], &h, 2);
                break;
            }
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

int run_bench_matmul(const options& o) {
    auto checked = check_options(o);
    if (!checked.ok()) {
        std::fprintf(stderr, "bench-matmul: %s\n", checked.message().c_str());
        return cli::k_usage_error;
    }
    const dtype type = *checked;
    const bool panels = o.layout == "panels";
    const std::vector<int64_t> token_counts = cli::parse_positive_int_list(o.tokens).value();
    const size_t matrix_bytes = dtype_row_bytes(type, o.cols) * static_cast<size_t>(o.rows);
    const size_t copies =
        std::max<size_t>(1, static_cast<size_t>(o.working_set_mb) * 1024 * 1024 / matrix_bytes);
    std::mt19937 rng(1);
    const std::vector<uint8_t> first = random_weights(type, matrix_bytes, rng);
    std::vector<uint8_t> all(matrix_bytes * copies);
    for (size_t c = 0; c < copies; ++c)
        std::memcpy(&all[c * matrix_bytes], first.data(), matrix_bytes);

    std::vector<tensor> views(copies);
    for (size_t c = 0; c < copies; ++c) {
        views[c].name = "bench";
        views[c].type = type;
        views[c].shape = {o.rows, o.cols};
        views[c].data = &all[c * matrix_bytes];
        views[c].num_bytes = matrix_bytes;
    }
    cpu::thread_pool pool(o.threads);
    std::vector<std::shared_ptr<void>> packed_storage;
    if (panels) {
        for (tensor& v : views) v = cpu::repack_to_panels(v, packed_storage, pool);
        std::vector<uint8_t>().swap(all);  // the row copies are no longer read
    }
    std::normal_distribution<float> normal(0.0f, 1.0f);
    size_t next = 0;
    for (int64_t tokens : token_counts) {
        std::vector<float> x(static_cast<size_t>(tokens * o.cols));
        for (float& v : x) v = normal(rng);
        std::vector<float> y(static_cast<size_t>(tokens * o.rows));
        // Each timed sample runs over enough copies for ~20 ms, so the weights come
        // from memory (as in a forward pass) and the clock resolution does not matter.
        const double flops_per_call = 2.0 * static_cast<double>(tokens * o.rows * o.cols);
        const size_t calls =
            std::clamp<size_t>(static_cast<size_t>(2e9 / 50.0 / flops_per_call), 1, copies);
        std::vector<double> per_call_s, cpu_per_call_s;
        for (int rep = 0; rep < o.repeat + 1; ++rep) {
            const double cpu0 = process_cpu_seconds();
            const auto t0 = std::chrono::steady_clock::now();
            for (size_t i = 0; i < calls; ++i) {
                cpu::matmul(views[next], x.data(), tokens, y.data(), pool);
                next = (next + 1) % copies;
            }
            const double s =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
        net::json_writer w;
        w.begin_object().field("bench", "matmul").field("type", dtype_name(type));
        w.field("layout", o.layout).field("level", cpu::cpu_level_name(cpu::active_cpu_level()));
        w.field("rows", o.rows).field("cols", o.cols).field("tokens", tokens);
        w.field("threads", pool.size()).field("us_per_call", cli::rounded(median * 1e6, 2));
        w.field("gflops", cli::rounded(flops_per_call / median * 1e-9, 2));
        w.field("weight_gbps", cli::rounded(static_cast<double>(matrix_bytes) / median * 1e-9, 2));
        w.field("cpu_us_per_call", cli::rounded(cpu_median * 1e6, 2));
        w.field("cpu_gflops", cli::rounded(flops_per_call / cpu_median * 1e-9, 2));
        cli::print_json_line(w.end_object());
    }
    return 0;
}

cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    std::vector<std::string> type_names;
    for (dtype t : k_types) type_names.push_back(lower_name(t));
    app.add_option("--dtype", o->type_name, "weight type")
        ->check(CLI::IsMember(type_names))
        ->capture_default_str();
    app.add_option("--rows", o->rows, "output features")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--cols", o->cols, "input features")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--tokens", o->tokens, "token counts to time")
        ->type_name("LIST")
        ->check(cli::positive_int_list())
        ->capture_default_str();
    app.add_option("--threads", o->threads, "worker threads")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--repeat", o->repeat, "timed runs (the median is printed)")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--working-set-mb", o->working_set_mb, "weight copies spread over this much")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--level", o->level, "kernel level: portable, avx2 or avx512")
        ->check(CLI::IsMember({"portable", "avx2", "avx512"}));
    app.add_option("--layout", o->layout, "rows, or panels (quantized types)")
        ->check(CLI::IsMember({"rows", "panels"}))
        ->capture_default_str();
    return [o] { return run_bench_matmul(*o); };
}

cli::command_registration reg("bench-matmul", "time cpu matmul kernels (JSON)", setup);

}  // namespace bench_matmul_command

// `actorlm bench-tokenizer`: encoding throughput of a tokenizer on a text file, printed as
// JSON (MB/s = 1e6 bytes per second, median over runs). With --threads N the text is cut at
// line boundaries into N parts encoded concurrently by one shared tokenizer. --cold reloads
// the tokenizer before every run so its piece cache starts empty.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "json_output.hpp"
#include "tokenizer/tokenizer.hpp"
#include "base/elapsed.hpp"

namespace bench_tokenizer_command {

using actorlm::cli::rounded;

struct options {
    std::string tok_path, file;
    int threads = 1, runs = 5;
    bool cold = false;
};

int run_bench(const options& o) {
    const std::string& tok_path = o.tok_path;
    const std::string& file = o.file;
    const int threads = o.threads, runs = o.runs;
    const bool cold = o.cold;
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "bench-tokenizer: cannot read %s\n", file.c_str());
        return 1;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();

    // cut into `threads` parts at newlines
    std::vector<std::string_view> parts;
    size_t begin = 0;
    for (int p = 1; p <= threads; ++p) {
        size_t end = p == threads
                         ? text.size()
                         : text.size() * static_cast<size_t>(p) / static_cast<size_t>(threads);
        if (end < text.size()) {
            const size_t nl = text.find('\n', end);
            end = nl == std::string::npos ? text.size() : nl + 1;
        }
        if (end > begin) parts.emplace_back(text.data() + begin, end - begin);
        begin = std::max(begin, end);
    }

    auto t_load = std::chrono::steady_clock::now();
    auto tok = actorlm::load_tokenizer_for_model(tok_path);
    if (!tok) {
        std::fprintf(stderr, "bench-tokenizer: %s\n", tok.message().c_str());
        return 1;
    }
    const double load_s = actorlm::seconds_since(t_load);

    std::vector<double> times;
    size_t num_tokens = 0;
    for (int r = 0; r < runs; ++r) {
        if (cold && r > 0) {
            tok = actorlm::load_tokenizer_for_model(tok_path);
            if (!tok) return 1;
        }
        std::vector<size_t> counts(parts.size());
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (size_t p = 1; p < parts.size(); ++p)
            pool.emplace_back(
                [&, p] { counts[p] = (*tok)->encode(parts[p], false, false).size(); });
        if (!parts.empty()) counts[0] = (*tok)->encode(parts[0], false, false).size();
        for (auto& t : pool) t.join();
        times.push_back(actorlm::seconds_since(t0));
        num_tokens = 0;
        for (size_t c : counts) num_tokens += c;
    }
    const double first = times.front();
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    actorlm::net::json_writer w;
    w.begin_object().field("tokenizer", tok_path).field("file", file);
    w.field("bytes", static_cast<uint64_t>(text.size()));
    w.field("tokens", static_cast<uint64_t>(num_tokens)).field("threads", threads);
    w.field("runs", runs).field("cold", cold).field("load_s", rounded(load_s, 3));
    w.field("first_run_s", rounded(first, 4)).field("median_s", rounded(median, 4));
    w.field("mb_per_s", rounded(static_cast<double>(text.size()) / 1e6 / median, 2));
    w.field("first_run_mb_per_s", rounded(static_cast<double>(text.size()) / 1e6 / first, 2));
    actorlm::cli::print_json_line(w.end_object());
    return 0;
}

actorlm::cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    app.add_option("--model", o->tok_path, "tokenizer.json, HF model directory or .gguf")
        ->required();
    app.add_option("--file", o->file, "text to encode")->required();
    app.add_option("--threads", o->threads, "parts encoded concurrently")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--runs", o->runs, "timed runs (the median is printed)")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_flag("--cold", o->cold, "reload the tokenizer before every run (empty piece cache)");
    return [o] { return run_bench(*o); };
}

actorlm::cli::command_registration reg("bench-tokenizer",
                                       "tokenizer encoding throughput (JSON, MB/s)", setup);

}  // namespace bench_tokenizer_command

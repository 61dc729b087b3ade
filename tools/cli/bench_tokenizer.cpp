// `actorlm bench-tokenizer`: encoding throughput of a tokenizer on a text file, printed as
// JSON (MB/s = 1e6 bytes per second, median over runs). With --threads N the text is cut at
// line boundaries into N parts encoded concurrently by one shared tokenizer. --cold reloads
// the tokenizer before every run so its piece cache starts empty.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "command_registry.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {

const char* k_usage =
    "usage: actorlm bench-tokenizer --tokenizer PATH --file TEXT [--threads N] [--runs R] [--cold]\n"
    "  PATH: tokenizer.json, HF model directory or .gguf\n";

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_bench(const std::vector<std::string>& args) {
    std::string tok_path, file;
    int threads = 1, runs = 5;
    bool cold = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const bool has_value = i + 1 < args.size();
        if (args[i] == "--tokenizer" && has_value) tok_path = args[++i];
        else if (args[i] == "--file" && has_value) file = args[++i];
        else if (args[i] == "--threads" && has_value) threads = std::max(1, std::atoi(args[++i].c_str()));
        else if (args[i] == "--runs" && has_value) runs = std::max(1, std::atoi(args[++i].c_str()));
        else if (args[i] == "--cold") cold = true;
        else {
            std::fprintf(stderr, "%s", k_usage);
            return 2;
        }
    }
    if (tok_path.empty() || file.empty()) {
        std::fprintf(stderr, "%s", k_usage);
        return 2;
    }
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
        size_t end = p == threads ? text.size() : text.size() * static_cast<size_t>(p) / static_cast<size_t>(threads);
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
    const double load_s = seconds_since(t_load);

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
            pool.emplace_back([&, p] { counts[p] = (*tok)->encode(parts[p], false, false).size(); });
        if (!parts.empty()) counts[0] = (*tok)->encode(parts[0], false, false).size();
        for (auto& t : pool) t.join();
        times.push_back(seconds_since(t0));
        num_tokens = 0;
        for (size_t c : counts) num_tokens += c;
    }
    const double first = times.front();
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    std::printf("{\"tokenizer\": \"%s\", \"file\": \"%s\", \"bytes\": %zu, \"tokens\": %zu, \"threads\": %d, "
                "\"runs\": %d, \"cold\": %s, \"load_s\": %.3f, \"first_run_s\": %.4f, \"median_s\": %.4f, "
                "\"mb_per_s\": %.2f, \"first_run_mb_per_s\": %.2f}\n",
                tok_path.c_str(), file.c_str(), text.size(), num_tokens, threads, runs, cold ? "true" : "false",
                load_s, first, median, static_cast<double>(text.size()) / 1e6 / median,
                static_cast<double>(text.size()) / 1e6 / first);
    return 0;
}

actorlm::cli::command_registration reg("bench-tokenizer", "tokenizer encoding throughput (JSON, MB/s)", run_bench);

}  // namespace

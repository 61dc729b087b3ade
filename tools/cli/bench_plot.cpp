// `actorlm bench plot A.json [B.json ...] -o FILE.svg`: overlays saved bench-serve
// results (--result-file) on one SVG page — TTFT and ITL CDFs, output tokens/s over
// time, a request timeline per run — e.g. ours against llama-server's from the same
// window. Labels default to the files' names.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "command_registry.hpp"
#include "bench/bench_plot.hpp"

namespace bench_plot_command {

struct plot_args {
    std::vector<std::string> results;
    std::vector<std::string> labels;
    std::string output;
};

int run_plot(const plot_args& a) {
    if (!a.labels.empty() && a.labels.size() != a.results.size()) {
        std::fprintf(stderr, "bench plot: %zu --label values for %zu result files\n",
                     a.labels.size(), a.results.size());
        return actorlm::cli::k_usage_error;
    }
    std::vector<actorlm::net::plot_run> runs;
    for (size_t i = 0; i < a.results.size(); ++i) {
        std::ifstream f(a.results[i]);
        std::stringstream text;
        text << f.rdbuf();
        const std::string label = a.labels.empty()
                                      ? std::filesystem::path(a.results[i]).stem().string()
                                      : a.labels[i];
        auto run = actorlm::net::parse_plot_run(text.str(), label);
        if (!run) {
            std::fprintf(stderr, "bench plot: %s: %s\n", a.results[i].c_str(),
                         run.message().c_str());
            return 1;
        }
        runs.push_back(std::move(run.value()));
    }
    std::ofstream out(a.output);
    out << actorlm::net::render_bench_plot(runs);
    if (!out) {
        std::fprintf(stderr, "bench plot: cannot write %s\n", a.output.c_str());
        return 1;
    }
    return 0;
}

actorlm::cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<plot_args>();
    app.add_option("results", o->results, "bench-serve --result-file JSON files")
        ->required()
        ->check(CLI::ExistingFile);
    app.add_option("--label", o->labels, "a name per result file, in order (default: file names)");
    app.add_option("-o,--output", o->output, "the SVG file to write")->required();
    return [o] { return run_plot(*o); };
}

const actorlm::cli::command_registration registration(
    "bench-plot", "overlay saved bench-serve results as an SVG page (CDFs, tokens/s, timeline)",
    setup);

}  // namespace bench_plot_command

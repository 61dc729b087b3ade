// bench_plot: the picture of one or more bench-serve runs, as one SVG page (svg_chart):
// the TTFT and inter-token-latency distributions (CDFs, every run overlaid), output
// tokens/s over the run (overlaid), and each run's request timeline (one bar per
// request: waiting for its first token, then streaming). Runs come from bench-serve's
// result JSON (its per-request arrays), so saved results of different servers — ours
// against llama-server, say — overlay on one page. Pure; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "bench/bench_summary.hpp"

namespace actorlm::net {

struct plot_run {
    std::string label;
    std::vector<request_timing> requests;
};

/// A run from bench-serve's result JSON text; an error names what is missing.
result<plot_run> parse_plot_run(std::string_view json, std::string label);

/// The SVG page for `runs` (at least one).
std::string render_bench_plot(const std::vector<plot_run>& runs);

}  // namespace actorlm::net

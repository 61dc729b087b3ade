// bench_summary: turns per-request load results into the figures `vllm bench
// serve` reports (throughputs, goodput, mean/median/std/percentiles of TTFT,
// TPOT, ITL, E2EL in ms) and writes them as JSON with vLLM's key names, so the
// result files compare directly. Pure computation; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "bench/load_generator.hpp"
#include "bench/server_counters.hpp"

namespace actorlm::net {

/// Service-level objectives for goodput, in milliseconds; <= 0 means not set.
struct slo_targets {
    double ttft_ms = 0.0;
    double tpot_ms = 0.0;
    double e2el_ms = 0.0;
};

/// Parses "ttft:200" / "tpot:50" / "e2el:3000" items (vLLM's --goodput) into `slo`.
bool parse_slo(const std::string& item, slo_targets& slo, std::string* error);

/// Mean, median, std and the requested percentiles of one latency, in ms.
struct latency_stats {
    double mean_ms = 0.0;
    double median_ms = 0.0;
    double std_ms = 0.0;
    std::vector<std::pair<double, double>> percentiles_ms;  // (p, value)
};

/// Linear-interpolated percentile as numpy.percentile computes it (p in [0, 100]).
double percentile(std::vector<double> values, double p);
latency_stats compute_latency(const std::vector<double>& seconds, const std::vector<double>& ps);

/// One completed request's timing, which the plots draw (seconds; start from the run's start).
struct request_timing {
    double start_s = 0.0;
    double ttft_s = 0.0;
    double e2e_s = 0.0;
    std::vector<double> itl_s;
    int64_t input_len = 0;
    int64_t output_len = 0;
};

struct bench_summary {
    double duration_s = 0.0;
    int64_t completed = 0;
    int64_t failed = 0;
    int64_t total_input_tokens = 0;
    int64_t total_output_tokens = 0;
    double request_throughput = 0.0;      // completed requests / s
    double request_goodput = 0.0;         // requests meeting every SLO / s
    double output_throughput = 0.0;       // output tokens / s
    double total_token_throughput = 0.0;  // (input + output) tokens / s
    double max_concurrent_requests = 0.0;
    latency_stats ttft, tpot, itl, e2el;
    std::vector<std::string> errors;  // the first few failures

    // Multi-turn runs (some result has turn > 0): the same figures split by turn, so the
    // follow-ups' prefix reuse shows against first turns.
    bool multi_turn = false;
    int64_t completed_first_turns = 0;
    int64_t completed_follow_ups = 0;
    int64_t first_turn_input_tokens = 0;
    int64_t follow_up_input_tokens = 0;
    latency_stats ttft_first_turn, ttft_follow_up;

    // Every completed request, in request order; the result JSON carries them as vLLM's
    // per-request arrays (input_lens, output_lens, ttfts, itls) plus start_times and e2els.
    std::vector<request_timing> requests;

    // The server's prefix cache over the run (its /metrics counters' increase, in tokens);
    // negative when not measured.
    prefix_cache_counters prefix_cache;
};

/// `input_lens[i]` is request i's prompt length; a negative entry, or none, takes the server's
/// usage.prompt_tokens instead.
bench_summary summarize(const std::vector<request_result>& results,
                        const std::vector<int64_t>& input_lens, double duration_s,
                        const slo_targets& slo, const std::vector<double>& percentiles);

/// The summary as vLLM's result JSON keys (mean_ttft_ms, p99_itl_ms, ...), plus `extra_json`
/// members (already serialized "key":value pairs, comma-separated) for the run's settings.
std::string summary_json(const bench_summary& s, const std::string& extra_json);

/// vLLM's human-readable result table.
std::string summary_table(const bench_summary& s);

}  // namespace actorlm::net

// bench_summary: latency statistics and goodput as vLLM's benchmark_serving
// computes them (TPOT per request excludes the first token; ITL pools every gap).
#include "bench/bench_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "net/json_writer.hpp"

namespace actorlm::net {

bool parse_slo(const std::string& item, slo_targets& slo, std::string* error) {
    const size_t colon = item.find(':');
    const std::string name = item.substr(0, colon);
    char* end = nullptr;
    const double ms =
        colon == std::string::npos ? -1.0 : std::strtod(item.c_str() + colon + 1, &end);
    if (colon == std::string::npos || end == item.c_str() + colon + 1 || *end != '\0' || ms <= 0) {
        *error = "invalid SLO '" + item + "': expected NAME:MILLISECONDS with a positive number";
        return false;
    }
    if (name == "ttft")
        slo.ttft_ms = ms;
    else if (name == "tpot")
        slo.tpot_ms = ms;
    else if (name == "e2el")
        slo.e2el_ms = ms;
    else {
        *error = "invalid SLO name '" + name + "': expected ttft, tpot or e2el";
        return false;
    }
    return true;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(rank));
    const size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

latency_stats compute_latency(const std::vector<double>& seconds, const std::vector<double>& ps) {
    latency_stats s;
    if (seconds.empty()) {
        for (double p : ps) s.percentiles_ms.emplace_back(p, 0.0);
        return s;
    }
    std::vector<double> ms(seconds.size());
    for (size_t i = 0; i < seconds.size(); ++i) ms[i] = seconds[i] * 1000.0;
    double sum = 0.0;
    for (double v : ms) sum += v;
    s.mean_ms = sum / static_cast<double>(ms.size());
    double var = 0.0;
    for (double v : ms) var += (v - s.mean_ms) * (v - s.mean_ms);
    s.std_ms = std::sqrt(var / static_cast<double>(ms.size()));  // numpy's population std
    s.median_ms = percentile(ms, 50.0);
    for (double p : ps) s.percentiles_ms.emplace_back(p, percentile(ms, p));
    return s;
}

bench_summary summarize(const std::vector<request_result>& results,
                        const std::vector<int64_t>& input_lens, double duration_s,
                        const slo_targets& slo, const std::vector<double>& percentiles) {
    bench_summary s;
    s.duration_s = duration_s;
    std::vector<double> ttfts, tpots, itls, e2els, ttfts_first, ttfts_follow;
    int64_t good = 0;
    // Peak concurrency from the request intervals (sweep over start/end events).
    std::vector<std::pair<double, int>> events;
    for (size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        s.multi_turn = s.multi_turn || r.turn > 0;
        events.emplace_back(r.start_s, 1);
        events.emplace_back(r.start_s + r.e2e_s, -1);
        if (!r.success) {
            ++s.failed;
            if (s.errors.size() < 5) s.errors.push_back(r.error);
            continue;
        }
        ++s.completed;
        // The dataset's prompt length, as vLLM counts it; the server's usage only as fallback.
        const int64_t in =
            i < input_lens.size() && input_lens[i] >= 0 ? input_lens[i] : r.prompt_tokens;
        s.total_input_tokens += in;
        s.total_output_tokens += r.output_tokens;
        ttfts.push_back(r.ttft_s);
        if (r.turn == 0) {
            ++s.completed_first_turns;
            s.first_turn_input_tokens += in;
            ttfts_first.push_back(r.ttft_s);
        } else {
            ++s.completed_follow_ups;
            s.follow_up_input_tokens += in;
            ttfts_follow.push_back(r.ttft_s);
        }
        e2els.push_back(r.e2e_s);
        double tpot = 0.0;
        if (r.output_tokens > 1) {
            tpot = (r.e2e_s - r.ttft_s) / static_cast<double>(r.output_tokens - 1);
            tpots.push_back(tpot);
        }
        itls.insert(itls.end(), r.itl_s.begin(), r.itl_s.end());
        s.requests.push_back({r.start_s, r.ttft_s, r.e2e_s, r.itl_s, in, r.output_tokens});
        const bool meets = (slo.ttft_ms <= 0 || r.ttft_s * 1000.0 <= slo.ttft_ms) &&
                           (slo.tpot_ms <= 0 || tpot * 1000.0 <= slo.tpot_ms) &&
                           (slo.e2el_ms <= 0 || r.e2e_s * 1000.0 <= slo.e2el_ms);
        good += meets ? 1 : 0;
    }
    std::sort(events.begin(), events.end());
    int current = 0;
    for (const auto& [t, delta] : events) {
        current += delta;
        s.max_concurrent_requests =
            std::max(s.max_concurrent_requests, static_cast<double>(current));
    }
    if (duration_s > 0) {
        s.request_throughput = static_cast<double>(s.completed) / duration_s;
        s.request_goodput = static_cast<double>(good) / duration_s;
        s.output_throughput = static_cast<double>(s.total_output_tokens) / duration_s;
        s.total_token_throughput =
            static_cast<double>(s.total_input_tokens + s.total_output_tokens) / duration_s;
    }
    s.ttft = compute_latency(ttfts, percentiles);
    s.tpot = compute_latency(tpots, percentiles);
    s.itl = compute_latency(itls, percentiles);
    s.e2el = compute_latency(e2els, percentiles);
    s.ttft_first_turn = compute_latency(ttfts_first, percentiles);
    s.ttft_follow_up = compute_latency(ttfts_follow, percentiles);
    return s;
}

namespace {

std::string percentile_name(double p) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", p);
    return buf;
}

// "<prefix><name><suffix>" built by appending (GCC 12 warns, wrongly, on `"lit" + str`).
std::string join3(const std::string& prefix, const char* name, const char* suffix) {
    std::string out = prefix;
    out += name;
    out += suffix;
    return out;
}

void write_latency(json_writer& w, const char* name, const latency_stats& l) {
    w.field(join3("mean_", name, "_ms"), l.mean_ms)
        .field(join3("median_", name, "_ms"), l.median_ms);
    w.field(join3("std_", name, "_ms"), l.std_ms);
    for (const auto& [p, v] : l.percentiles_ms)
        w.field(join3(join3("p", percentile_name(p).c_str(), "_"), name, "_ms"), v);
}

// vLLM's per-request arrays (its --save-detailed keys), and ours for the timeline plot.
void write_request_arrays(json_writer& w, const std::vector<request_timing>& requests) {
    auto array_of = [&](std::string_view key, auto value_of) {
        w.key(key).begin_array();
        for (const auto& r : requests) w.value(value_of(r));
        w.end_array();
    };
    array_of("input_lens", [](const request_timing& r) { return r.input_len; });
    array_of("output_lens", [](const request_timing& r) { return r.output_len; });
    array_of("ttfts", [](const request_timing& r) { return r.ttft_s; });
    array_of("start_times", [](const request_timing& r) { return r.start_s; });
    array_of("e2els", [](const request_timing& r) { return r.e2e_s; });
    w.key("itls").begin_array();
    for (const auto& r : requests) {
        w.begin_array();
        for (double itl : r.itl_s) w.value(itl);
        w.end_array();
    }
    w.end_array();
}

}  // namespace

std::string summary_json(const bench_summary& s, const std::string& extra_json) {
    json_writer w;
    w.begin_object();
    if (!extra_json.empty()) w.raw(extra_json);
    w.field("duration", s.duration_s).field("completed", s.completed).field("failed", s.failed);
    w.field("total_input_tokens", s.total_input_tokens);
    w.field("total_output_tokens", s.total_output_tokens);
    w.field("request_throughput", s.request_throughput);
    w.field("request_goodput", s.request_goodput);
    w.field("output_throughput", s.output_throughput);
    w.field("total_token_throughput", s.total_token_throughput);
    w.field("max_concurrent_requests", s.max_concurrent_requests);
    write_latency(w, "ttft", s.ttft);
    write_latency(w, "tpot", s.tpot);
    write_latency(w, "itl", s.itl);
    write_latency(w, "e2el", s.e2el);
    if (s.multi_turn) {
        w.field("completed_first_turns", s.completed_first_turns);
        w.field("completed_follow_ups", s.completed_follow_ups);
        w.field("first_turn_input_tokens", s.first_turn_input_tokens);
        w.field("follow_up_input_tokens", s.follow_up_input_tokens);
        write_latency(w, "ttft_first_turn", s.ttft_first_turn);
        write_latency(w, "ttft_follow_up", s.ttft_follow_up);
    }
    const prefix_cache_counters& pc = s.prefix_cache;
    if (pc.queries >= 0 && pc.hits >= 0) {
        w.field("prefix_cache_queries", pc.queries).field("prefix_cache_hits", pc.hits);
        w.field("prefix_cache_hit_rate", pc.queries > 0 ? pc.hits / pc.queries : 0.0);
    }
    if (pc.external_queries >= 0 && pc.external_hits >= 0) {
        w.field("external_prefix_cache_queries", pc.external_queries);
        w.field("external_prefix_cache_hits", pc.external_hits);
    }
    w.key("errors").begin_array();
    for (const auto& e : s.errors) w.value(e);
    w.end_array();
    write_request_arrays(w, s.requests);
    w.end_object();
    return w.take();
}

std::string summary_table(const bench_summary& s) {
    std::string out;
    char line[160];
    auto row = [&](const char* label, double v, const char* fmt) {
        std::snprintf(line, sizeof(line), fmt, label, v);
        out += line;
    };
    out += "============ Serving Benchmark Result ============\n";
    row("Successful requests:", static_cast<double>(s.completed), "%-40s%-10.0f\n");
    row("Failed requests:", static_cast<double>(s.failed), "%-40s%-10.0f\n");
    row("Benchmark duration (s):", s.duration_s, "%-40s%-10.2f\n");
    row("Total input tokens:", static_cast<double>(s.total_input_tokens), "%-40s%-10.0f\n");
    row("Total generated tokens:", static_cast<double>(s.total_output_tokens), "%-40s%-10.0f\n");
    row("Request throughput (req/s):", s.request_throughput, "%-40s%-10.2f\n");
    row("Request goodput (req/s):", s.request_goodput, "%-40s%-10.2f\n");
    row("Output token throughput (tok/s):", s.output_throughput, "%-40s%-10.2f\n");
    row("Total Token throughput (tok/s):", s.total_token_throughput, "%-40s%-10.2f\n");
    auto section_rows = [&](const char* name, const latency_stats& l) {
        row(join3("Mean ", name, " (ms):").c_str(), l.mean_ms, "%-40s%-10.2f\n");
        row(join3("Median ", name, " (ms):").c_str(), l.median_ms, "%-40s%-10.2f\n");
        for (const auto& [p, v] : l.percentiles_ms)
            row(join3(join3("P", percentile_name(p).c_str(), " "), name, " (ms):").c_str(), v,
                "%-40s%-10.2f\n");
    };
    auto section = [&](const char* title, const char* name, const latency_stats& l) {
        out += title;
        out += "\n";
        section_rows(name, l);
    };
    section("---------------Time to First Token----------------", "TTFT", s.ttft);
    section("-----Time per Output Token (excl. 1st token)------", "TPOT", s.tpot);
    section("---------------Inter-token Latency----------------", "ITL", s.itl);
    section("----------------End-to-end Latency----------------", "E2EL", s.e2el);
    if (s.multi_turn) {
        out += "------------TTFT by turn (multi-turn)-------------\n";
        row("First turns completed:", static_cast<double>(s.completed_first_turns),
            "%-40s%-10.0f\n");
        row("Follow-ups completed:", static_cast<double>(s.completed_follow_ups), "%-40s%-10.0f\n");
        row("First-turn input tokens:", static_cast<double>(s.first_turn_input_tokens),
            "%-40s%-10.0f\n");
        row("Follow-up input tokens:", static_cast<double>(s.follow_up_input_tokens),
            "%-40s%-10.0f\n");
        section_rows("first-turn TTFT", s.ttft_first_turn);
        section_rows("follow-up TTFT", s.ttft_follow_up);
    }
    const prefix_cache_counters& pc = s.prefix_cache;
    if (pc.queries >= 0 && pc.hits >= 0) {
        out += "--------Server prefix cache (over the run)--------\n";
        row("Prefix cache queries (tokens):", pc.queries, "%-40s%-10.0f\n");
        row("Prefix cache hits (tokens):", pc.hits, "%-40s%-10.0f\n");
        row("Prefix cache hit rate (%):", pc.queries > 0 ? 100.0 * pc.hits / pc.queries : 0.0,
            "%-40s%-10.2f\n");
    }
    if (pc.external_queries >= 0 && pc.external_hits >= 0) {
        row("External prefix queries (tokens):", pc.external_queries, "%-40s%-10.0f\n");
        row("External prefix hits (tokens):", pc.external_hits, "%-40s%-10.0f\n");
    }
    out += "==================================================\n";
    for (const auto& e : s.errors) out += "error: " + e + "\n";
    return out;
}

}  // namespace actorlm::net

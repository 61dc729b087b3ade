// bench_plot: per-request arrays -> CDF points, a tokens/s histogram and timeline
// bars, laid out two charts per row.
#include "bench/bench_plot.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>

#include "bench/svg_chart.hpp"

namespace actorlm::net {

namespace {

// A CDF's points are capped (a 100k-request run would make a 5 MB SVG for no visible gain).
constexpr size_t k_max_cdf_points = 1500;
constexpr size_t k_max_timeline_bars = 400;
constexpr double k_width = 1200, k_chart_height = 340;

// (value in ms, fraction of requests at or below it), subsampled evenly.
std::vector<std::pair<double, double>> cdf_ms(std::vector<double> seconds) {
    std::sort(seconds.begin(), seconds.end());
    std::vector<std::pair<double, double>> points;
    const size_t n = seconds.size();
    const size_t stride = std::max<size_t>(1, n / k_max_cdf_points);
    for (size_t i = 0; i < n; i += stride)
        points.emplace_back(seconds[i] * 1000.0, static_cast<double>(i + 1) / static_cast<double>(n));
    if (n > 0 && points.back().second < 1.0) points.emplace_back(seconds.back() * 1000.0, 1.0);
    return points;
}

// The x range that shows the bulk of every run: the largest p99 (a CDF's last percent
// is often one straggler that would squeeze the rest into a corner).
double p99_ms(const std::vector<chart_series>& series) {
    double x = 0;
    for (const auto& s : series) {
        if (s.points.empty()) continue;
        auto at = std::lower_bound(s.points.begin(), s.points.end(), 0.99,
                                   [](const auto& p, double f) { return p.second < f; });
        x = std::max(x, (at == s.points.end() ? s.points.back() : *at).first);
    }
    return x > 0 ? x * 1.05 : -1.0;
}

// Output tokens per second over the run: each chunk carries an equal share of the
// request's output tokens, at the time it arrived.
std::vector<std::pair<double, double>> token_rate(const std::vector<request_timing>& requests,
                                                  double bin_s) {
    double end = 0;
    for (const auto& r : requests) end = std::max(end, r.start_s + r.e2e_s);
    std::vector<double> bins(static_cast<size_t>(end / bin_s) + 1, 0.0);
    for (const auto& r : requests) {
        const double share =
            static_cast<double>(r.output_len) / static_cast<double>(r.itl_s.size() + 1);
        double t = r.start_s + r.ttft_s;
        bins[std::min(bins.size() - 1, static_cast<size_t>(t / bin_s))] += share;
        for (double gap : r.itl_s) {
            t += gap;
            bins[std::min(bins.size() - 1, static_cast<size_t>(t / bin_s))] += share;
        }
    }
    std::vector<std::pair<double, double>> points;
    for (size_t i = 0; i < bins.size(); ++i)
        points.emplace_back((static_cast<double>(i) + 0.5) * bin_s, bins[i] / bin_s);
    return points;
}

}  // namespace

result<plot_run> parse_plot_run(std::string_view json, std::string label) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS)
        return make_error("not JSON");
    simdjson::dom::array starts, ttfts, e2els, itls, output_lens;
    if (doc["start_times"].get(starts) != simdjson::SUCCESS ||
        doc["ttfts"].get(ttfts) != simdjson::SUCCESS ||
        doc["e2els"].get(e2els) != simdjson::SUCCESS ||
        doc["itls"].get(itls) != simdjson::SUCCESS ||
        doc["output_lens"].get(output_lens) != simdjson::SUCCESS)
        return make_error("no per-request arrays (start_times, ttfts, e2els, itls, output_lens): "
                          "write it with actorlm bench-serve --result-file");
    const size_t n = starts.size();
    if (ttfts.size() != n || e2els.size() != n || itls.size() != n || output_lens.size() != n)
        return make_error("the per-request arrays differ in length");
    plot_run run;
    run.label = std::move(label);
    run.requests.resize(n);
    auto number = [](simdjson::dom::element e, double* out) {
        if (e.get(*out) == simdjson::SUCCESS) return true;
        int64_t i = 0;
        if (e.get(i) != simdjson::SUCCESS) return false;
        *out = static_cast<double>(i);
        return true;
    };
    // Reads every number of `column`, handing each to `store` with its position.
    auto read_column = [&](simdjson::dom::array column, auto store) {
        size_t at = 0;
        for (auto e : column) {
            double v = 0;
            if (!number(e, &v)) return false;
            store(at++, v);
        }
        return true;
    };
    auto& req = run.requests;
    bool ok = read_column(starts, [&](size_t r, double v) { req[r].start_s = v; }) &&
              read_column(ttfts, [&](size_t r, double v) { req[r].ttft_s = v; }) &&
              read_column(e2els, [&](size_t r, double v) { req[r].e2e_s = v; }) &&
              read_column(output_lens, [&](size_t r, double v) {
                  req[r].output_len = static_cast<int64_t>(v);
              });
    size_t r = 0;
    for (auto list : itls) {
        simdjson::dom::array gaps;
        ok = ok && list.get(gaps) == simdjson::SUCCESS &&
             read_column(gaps, [&](size_t, double v) { req[r].itl_s.push_back(v); });
        if (!ok) break;
        ++r;
    }
    if (!ok) return make_error("a per-request entry is not a number");
    return run;
}

std::string render_bench_plot(const std::vector<plot_run>& runs) {
    line_chart ttft{"Time to first token", "TTFT (ms), up to the largest p99", "fraction of requests", {}, true};
    line_chart itl{"Inter-token latency", "ITL (ms), up to the largest p99", "fraction of gaps", {}, true};
    line_chart rate{"Output tokens over time", "time since the run started (s)", "output tokens/s", {}, false};
    double duration = 0;
    for (const auto& run : runs)
        for (const auto& r : run.requests) duration = std::max(duration, r.start_s + r.e2e_s);
    const double bin_s = std::max(0.05, duration / 60.0);
    for (const auto& run : runs) {
        std::vector<double> firsts, gaps;
        for (const auto& r : run.requests) {
            firsts.push_back(r.ttft_s);
            gaps.insert(gaps.end(), r.itl_s.begin(), r.itl_s.end());
        }
        ttft.series.push_back({run.label, cdf_ms(firsts)});
        itl.series.push_back({run.label, cdf_ms(gaps)});
        rate.series.push_back({run.label, token_rate(run.requests, bin_s)});
    }
    ttft.x_max = p99_ms(ttft.series);
    itl.x_max = p99_ms(itl.series);
    ttft.y_max = itl.y_max = 1.0;

    const size_t timeline_rows = (runs.size() + 1) / 2;
    svg_document doc(k_width, k_chart_height * static_cast<double>(2 + timeline_rows));
    const double half = k_width / 2;
    doc.draw({0, 0, half, k_chart_height}, ttft);
    doc.draw({half, 0, half, k_chart_height}, itl);
    doc.draw({0, k_chart_height, k_width, k_chart_height}, rate);
    for (size_t i = 0; i < runs.size(); ++i) {
        timeline_chart t;
        t.x_label = "time since the run started (s)";
        t.series_name = runs[i].label;
        t.color_index = i;
        std::vector<request_timing> sorted = runs[i].requests;
        std::sort(sorted.begin(), sorted.end(),
                  [](const auto& a, const auto& b) { return a.start_s < b.start_s; });
        const size_t stride = std::max<size_t>(1, sorted.size() / k_max_timeline_bars);
        for (size_t r = 0; r < sorted.size(); r += stride)
            t.bars.push_back({sorted[r].start_s, sorted[r].start_s + sorted[r].ttft_s,
                              sorted[r].start_s + sorted[r].e2e_s});
        t.title = "Requests: " + runs[i].label +
                  (stride > 1 ? " (every " + std::to_string(stride) + "th)" : "");
        doc.draw({half * static_cast<double>(i % 2),
                  k_chart_height * static_cast<double>(2 + i / 2), half, k_chart_height},
                 t);
    }
    return doc.str();
}

}  // namespace actorlm::net

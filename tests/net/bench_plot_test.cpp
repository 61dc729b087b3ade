// bench-serve's plots: tick steps, escaping, the per-request arrays surviving the
// result file, and a page that is well-formed SVG with one chart per figure and
// run — checked by an XML parser (Python's, where /usr/bin/python3 exists) and, where
// chromium is installed, rendered by a headless browser.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/bench_plot.hpp"
#include "bench/bench_summary.hpp"
#include "bench/svg_chart.hpp"

using namespace actorlm::net;

namespace bench_plot_test {

std::vector<request_result> synthetic_run(int n, double scale) {
    std::vector<request_result> results;
    for (int i = 0; i < n; ++i) {
        request_result r;
        r.success = true;
        r.start_s = 0.01 * i;
        r.ttft_s = scale * (0.02 + 0.001 * (i % 17));
        r.itl_s.assign(9, scale * 0.005);
        r.e2e_s = r.ttft_s + 9 * scale * 0.005;
        r.output_tokens = 10;
        results.push_back(r);
    }
    return results;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace bench_plot_test

using namespace bench_plot_test;

TEST_CASE("svg chart: 1-2-5 ticks cover the range, text is escaped") {
    CHECK(nice_ticks(0, 97) == std::vector<double>{0, 20, 40, 60, 80, 100});
    const auto small = nice_ticks(0, 0.37);
    REQUIRE(small.size() == 5);
    CHECK(small.back() == doctest::Approx(0.4));
    const auto unit = nice_ticks(0, 1, 5);
    REQUIRE(unit.size() == 6);
    CHECK(unit[3] == doctest::Approx(0.6));
    CHECK(nice_ticks(0, 100) == std::vector<double>{0, 20, 40, 60, 80, 100});
    CHECK(xml_escape("<a href=\"x\">&'\x01") == "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
}

TEST_CASE("bench plot: the result file's per-request arrays read back as the run's timings") {
    const auto results = synthetic_run(50, 1.0);
    const bench_summary s = summarize(results, {}, 2.0, {}, {99});
    const auto run = parse_plot_run(summary_json(s, ""), "ours");
    REQUIRE(run.ok());
    REQUIRE(run->requests.size() == 50);
    CHECK(run->requests[7].start_s == doctest::Approx(0.07));
    CHECK(run->requests[7].ttft_s == doctest::Approx(results[7].ttft_s));
    CHECK(run->requests[7].e2e_s == doctest::Approx(results[7].e2e_s));
    CHECK(run->requests[7].itl_s.size() == 9);
    CHECK(run->requests[7].output_len == 10);

    const auto old = parse_plot_run(R"({"completed": 3, "ttfts": [0.1]})", "old");
    REQUIRE_FALSE(old.ok());
    CHECK(old.message().find("--result-file") != std::string::npos);
    CHECK_FALSE(parse_plot_run("{", "x").ok());
}

TEST_CASE("bench plot: two runs overlay on one well-formed page, labels escaped") {
    const bench_summary fast = summarize(synthetic_run(300, 1.0), {}, 3.0, {}, {99});
    const bench_summary slow = summarize(synthetic_run(300, 3.0), {}, 4.0, {}, {99});
    const std::string svg = render_bench_plot(
        {plot_run{"actorlm", fast.requests}, plot_run{"<script>alert(1)</script>", slow.requests}});
    CHECK(svg.find("<script>") == std::string::npos);
    CHECK(svg.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    // TTFT, ITL and tokens/s charts with a line per run, and a timeline per run.
    CHECK(count(svg, "<polyline") == 6);
    CHECK(svg.find("Time to first token") != std::string::npos);
    CHECK(svg.find("Inter-token latency") != std::string::npos);
    CHECK(svg.find("Output tokens over time") != std::string::npos);
    CHECK(count(svg, "Requests: ") == 2);
    CHECK(count(svg, "stroke=\"#bbbbbb\"") == 600);  // one waiting bar per request

    if (!std::filesystem::exists("/usr/bin/python3")) return;
    const auto path = std::filesystem::temp_directory_path() /
                      ("bench_plot_" + std::to_string(getpid()) + ".svg");
    std::ofstream(path) << svg;
    const std::string check =
        "/usr/bin/python3 -c \"import sys, xml.etree.ElementTree as E; "
        "r = E.parse(sys.argv[1]).getroot(); assert r.tag.endswith('svg'), r.tag\" " +
        path.string();
    CHECK(std::system(check.c_str()) == 0);
    std::filesystem::remove(path);
}

TEST_CASE("bench plot: a headless browser renders the page (skips without chromium)") {
    const char* chromium = "/usr/bin/chromium";
    if (!std::filesystem::exists(chromium)) {
        MESSAGE("skipped: /usr/bin/chromium is absent (apt-get install chromium)");
        return;
    }
    const bench_summary s = summarize(synthetic_run(200, 1.0), {}, 2.0, {}, {99});
    const auto dir = std::filesystem::temp_directory_path() /
                     ("bench_plot_browser_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "plot.svg") << render_bench_plot({plot_run{"actorlm", s.requests}});
    const std::string shot = (dir / "plot.png").string();
    const std::string command = std::string(chromium) +
                                " --headless --no-sandbox --disable-gpu --screenshot=" + shot +
                                " --window-size=1200,1020 file://" + (dir / "plot.svg").string() +
                                " >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
    REQUIRE(std::filesystem::exists(shot));
    // A blank 1200x1020 page compresses to a few KB; drawn charts take far more.
    CHECK(std::filesystem::file_size(shot) > 20000);
    std::filesystem::remove_all(dir);
}

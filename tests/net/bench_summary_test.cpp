// bench-serve's statistics: numpy-style percentiles, TPOT excluding the first
// token, pooled ITL, goodput under SLOs, and vLLM's result-file keys.
#include <doctest/doctest.h>
#include <simdjson.h>

#include "bench/bench_summary.hpp"

using namespace actorlm::net;

namespace {

request_result ok_result(double start, double ttft, double e2e, int64_t tokens,
                         std::vector<double> itl) {
    request_result r;
    r.success = true;
    r.start_s = start;
    r.ttft_s = ttft;
    r.e2e_s = e2e;
    r.output_tokens = tokens;
    r.itl_s = std::move(itl);
    return r;
}

}  // namespace

TEST_CASE("bench summary: percentiles interpolate as numpy does") {
    CHECK(percentile({1, 2, 3, 4}, 50) == doctest::Approx(2.5));
    CHECK(percentile({1, 2, 3, 4}, 99) == doctest::Approx(3.97));
    CHECK(percentile({5}, 99) == doctest::Approx(5));
    CHECK(percentile({}, 50) == 0.0);
    CHECK(percentile({10, 0, 5}, 0) == 0.0);
}

TEST_CASE("bench summary: SLO parsing") {
    slo_targets slo;
    std::string err;
    CHECK(parse_slo("ttft:200", slo, &err));
    CHECK(parse_slo("tpot:12.5", slo, &err));
    CHECK(parse_slo("e2el:3000", slo, &err));
    CHECK(slo.ttft_ms == 200);
    CHECK(slo.tpot_ms == 12.5);
    CHECK_FALSE(parse_slo("ttft", slo, &err));
    CHECK_FALSE(parse_slo("ttft:-1", slo, &err));
    CHECK_FALSE(parse_slo("ttft:abc", slo, &err));
    CHECK_FALSE(parse_slo("latency:5", slo, &err));
    CHECK(err.find("latency") != std::string::npos);
}

TEST_CASE("bench summary: throughput, TPOT, ITL and goodput") {
    std::vector<request_result> results = {
        ok_result(0.0, 0.1, 1.1, 11, {0.1, 0.1}),  // TPOT (1.1-0.1)/10 = 0.1 s
        ok_result(0.5, 0.3, 0.8, 6, {0.2}),        // TPOT 0.5/5 = 0.1 s, TTFT 300 ms
        request_result{},                          // failed
    };
    results[2].error = "HTTP 500: boom";
    results[2].start_s = 0.2;
    results[2].e2e_s = 0.5;  // in flight over [0.2, 0.7]: three at once at 0.5
    slo_targets slo;
    slo.ttft_ms = 200;
    const auto s = summarize(results, {100, 50, 70}, 2.0, slo, {50, 99});
    CHECK(s.completed == 2);
    CHECK(s.failed == 1);
    CHECK(s.total_input_tokens == 150);
    CHECK(s.total_output_tokens == 17);
    CHECK(s.request_throughput == doctest::Approx(1.0));
    CHECK(s.request_goodput == doctest::Approx(0.5));  // only the first meets TTFT <= 200 ms
    CHECK(s.output_throughput == doctest::Approx(8.5));
    CHECK(s.total_token_throughput == doctest::Approx(83.5));
    CHECK(s.ttft.mean_ms == doctest::Approx(200));
    CHECK(s.tpot.mean_ms == doctest::Approx(100));
    CHECK(s.itl.mean_ms == doctest::Approx(400.0 / 3));
    CHECK(s.e2el.median_ms == doctest::Approx(950));
    CHECK(s.max_concurrent_requests == 3.0);
    REQUIRE(s.errors.size() == 1);
    CHECK(s.errors[0] == "HTTP 500: boom");

    const std::string json = summary_json(s, R"("model_id":"m")");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(json).get(doc) == simdjson::SUCCESS);
    CHECK(std::string(doc["model_id"].get_string().value()) == "m");
    CHECK(doc["completed"].get_int64().value() == 2);
    for (const char* key : {"mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms", "p50_tpot_ms",
                            "std_itl_ms", "p99_e2el_ms", "request_goodput", "output_throughput"})
        CHECK(doc[key].error() == simdjson::SUCCESS);
    CHECK(summary_table(s).find("Mean TTFT (ms):") != std::string::npos);
}

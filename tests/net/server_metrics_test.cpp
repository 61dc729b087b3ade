// /metrics exposition: vLLM's metric names, model_name labels, cumulative
// histogram buckets, and engine gauges/counters.
#include <doctest/doctest.h>

#include "net/server_metrics.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("metrics: engine stats appear under vLLM's names") {
    server_metrics m("my-model");
    engine_stats s;
    s.num_requests_running = 3;
    s.num_requests_waiting = 2;
    s.kv_cache_usage = 0.25;
    s.prompt_tokens_total = 100;
    s.generation_tokens_total = 50;
    s.prefix_cache_queries_total = 64;
    s.prefix_cache_hits_total = 32;
    s.num_preemptions_total = 1;
    s.kv_cache_reserved_bytes = int64_t{1} << 30;
    s.kv_cache_resident_bytes = 4096;
    s.engine_steps_total = 7;
    s.worker_busy_seconds_total = 1.5;
    s.worker_wait_seconds_total = 0.25;
    const std::string text = m.exposition(s);
    CHECK(has_line(text, "# TYPE vllm:num_requests_running gauge"));
    CHECK(has_line(text, "vllm:num_requests_running{model_name=\"my-model\"} 3.0"));
    CHECK(has_line(text, "vllm:num_requests_waiting{model_name=\"my-model\"} 2.0"));
    CHECK(has_line(text, "vllm:kv_cache_usage_perc{model_name=\"my-model\"} 0.25"));
    CHECK(has_line(text, "# TYPE vllm:prompt_tokens counter"));
    CHECK(has_line(text, "vllm:prompt_tokens_total{model_name=\"my-model\"} 100.0"));
    CHECK(has_line(text, "vllm:generation_tokens_total{model_name=\"my-model\"} 50.0"));
    CHECK(has_line(text, "vllm:prefix_cache_queries_total{model_name=\"my-model\"} 64.0"));
    CHECK(has_line(text, "vllm:prefix_cache_hits_total{model_name=\"my-model\"} 32.0"));
    CHECK(has_line(text, "vllm:num_preemptions_total{model_name=\"my-model\"} 1.0"));
    CHECK(has_line(text, "actorlm:kv_cache_reserved_bytes{model_name=\"my-model\"} 1073741824.0"));
    CHECK(has_line(text, "actorlm:kv_cache_resident_bytes{model_name=\"my-model\"} 4096.0"));
    CHECK(has_line(text, "actorlm:engine_steps_total{model_name=\"my-model\"} 7.0"));
    CHECK(has_line(text, "actorlm:worker_busy_seconds_total{model_name=\"my-model\"} 1.5"));
    CHECK(has_line(text, "actorlm:worker_wait_seconds_total{model_name=\"my-model\"} 0.25"));
}

TEST_CASE("metrics: histograms are cumulative with +Inf, count and sum") {
    server_metrics m("m");
    m.observe_time_to_first_token(0.003);   // bucket le=0.005
    m.observe_time_to_first_token(0.05);    // bucket le=0.06
    m.observe_time_to_first_token(5000.0);  // only +Inf
    const std::string text = m.exposition({});
    CHECK(has_line(text, "# TYPE vllm:time_to_first_token_seconds histogram"));
    CHECK(has_line(text,
                   "vllm:time_to_first_token_seconds_bucket{le=\"0.001\",model_name=\"m\"} 0.0"));
    CHECK(has_line(text,
                   "vllm:time_to_first_token_seconds_bucket{le=\"0.005\",model_name=\"m\"} 1.0"));
    CHECK(has_line(text,
                   "vllm:time_to_first_token_seconds_bucket{le=\"0.06\",model_name=\"m\"} 2.0"));
    CHECK(has_line(text,
                   "vllm:time_to_first_token_seconds_bucket{le=\"2560.0\",model_name=\"m\"} 2.0"));
    CHECK(has_line(text,
                   "vllm:time_to_first_token_seconds_bucket{le=\"+Inf\",model_name=\"m\"} 3.0"));
    CHECK(has_line(text, "vllm:time_to_first_token_seconds_count{model_name=\"m\"} 3.0"));
    CHECK(text.find("vllm:time_to_first_token_seconds_sum{model_name=\"m\"} 5000.05") !=
          std::string::npos);
    for (const char* name : {"vllm:inter_token_latency_seconds", "vllm:e2e_request_latency_seconds",
                             "vllm:request_queue_time_seconds"})
        CHECK(has_line(text, std::string("vllm:") + (name + 5) + "_count{model_name=\"m\"} 0.0"));
}

TEST_CASE("metrics: request_success_total per finished_reason") {
    server_metrics m("m");
    m.count_finished(finish_reason::stop);
    m.count_finished(finish_reason::stop);
    m.count_finished(finish_reason::length);
    m.count_finished(finish_reason::error);  // not a success
    const std::string text = m.exposition({});
    CHECK(has_line(text,
                   "vllm:request_success_total{finished_reason=\"stop\",model_name=\"m\"} 2.0"));
    CHECK(has_line(text,
                   "vllm:request_success_total{finished_reason=\"length\",model_name=\"m\"} 1.0"));
    CHECK(has_line(text,
                   "vllm:request_success_total{finished_reason=\"abort\",model_name=\"m\"} 0.0"));
}

TEST_CASE("metrics: label values are escaped") {
    server_metrics m("a\"b\\c");
    const std::string text = m.exposition({});
    CHECK(text.find("model_name=\"a\\\"b\\\\c\"") != std::string::npos);
}

TEST_CASE("metrics: bucket lists are vLLM's") {
    CHECK(ttft_buckets().front() == 0.001);
    CHECK(ttft_buckets().back() == 2560.0);
    CHECK(inter_token_buckets().size() == 19);
    CHECK(request_latency_buckets().back() == 7680.0);
}

TEST_CASE("metrics: speculative decoding counters under vLLM's names, only when speculating") {
    server_metrics m("m");
    engine_stats s;
    CHECK(m.exposition(s).find("spec_decode") == std::string::npos);
    s.spec_decode_num_drafts_total = 10;
    s.spec_decode_num_draft_tokens_total = 40;
    s.spec_decode_num_accepted_tokens_total = 25;
    s.spec_decode_num_accepted_tokens_per_pos = {9, 7, 5, 4};
    const std::string text = m.exposition(s);
    CHECK(has_line(text, "# TYPE vllm:spec_decode_num_drafts counter"));
    CHECK(has_line(text, "vllm:spec_decode_num_drafts_total{model_name=\"m\"} 10.0"));
    CHECK(has_line(text, "vllm:spec_decode_num_draft_tokens_total{model_name=\"m\"} 40.0"));
    CHECK(has_line(text, "vllm:spec_decode_num_accepted_tokens_total{model_name=\"m\"} 25.0"));
    CHECK(has_line(text, "# TYPE vllm:spec_decode_num_accepted_tokens_per_pos counter"));
    CHECK(has_line(text, "vllm:spec_decode_num_accepted_tokens_per_pos_total{model_name=\"m\","
                         "position=\"0\"} 9.0"));
    CHECK(has_line(text, "vllm:spec_decode_num_accepted_tokens_per_pos_total{model_name=\"m\","
                         "position=\"3\"} 4.0"));
}

// Prometheus metrics of the server, exposed on GET /metrics under vLLM's names
// (vllm:num_requests_running, vllm:time_to_first_token_seconds, ...) with a
// model_name label and vLLM's histogram buckets, so vLLM dashboards work as-is.
// Thread-safe: observations come from every connection strand; one mutex guards
// all values (observations are a few adds; contention is negligible).
#pragma once

#include <actorlm/engine.hpp>

#include <mutex>
#include <string>
#include <vector>

namespace actorlm::net {

/// A cumulative Prometheus histogram with fixed upper bounds (+Inf implied).
class histogram {
public:
    explicit histogram(std::vector<double> upper_bounds);
    void observe(double value);
    /// Appends `<name>_bucket{le=..,labels}`, `_count`, `_sum` lines.
    void write(std::string& out, const std::string& name, const std::string& labels) const;
    uint64_t count() const { return count_; }
    double sum() const { return sum_; }

private:
    std::vector<double> bounds_;
    std::vector<uint64_t> counts_;  // per bucket, not cumulative
    uint64_t count_ = 0;
    double sum_ = 0.0;
};

/// vLLM's bucket lists (vllm/v1/metrics/loggers.py).
const std::vector<double>& ttft_buckets();
const std::vector<double>& inter_token_buckets();
const std::vector<double>& request_latency_buckets();

class server_metrics {
public:
    explicit server_metrics(std::string model_name);

    void observe_time_to_first_token(double seconds);
    void observe_inter_token_latency(double seconds);
    void observe_e2e_latency(double seconds);
    void observe_queue_time(double seconds);
    /// vllm:request_success_total{finished_reason=...}; errors are not counted as success.
    void count_finished(finish_reason reason);

    /// The Prometheus text exposition (format 0.0.4) of these metrics plus the engine's.
    /// A router also passes its members: per-member gauges (label `member`, `role`).
    std::string exposition(const engine_stats& stats,
                           const std::vector<cluster_member_info>& members = {}) const;

private:
    std::string model_label_;  // model_name="..." escaped
    mutable std::mutex mu_;
    histogram ttft_;
    histogram itl_;
    histogram e2e_;
    histogram queue_;
    uint64_t finished_stop_ = 0;
    uint64_t finished_length_ = 0;
    uint64_t finished_abort_ = 0;
};

}  // namespace actorlm::net

// Histograms and Prometheus text exposition for GET /metrics (see server_metrics.hpp).
#include "net/server_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace actorlm::net {

namespace {

std::string format_number(double v) {
    // Shortest form that reads back exactly (0.06, not 0.059999999999999998).
    char buf[32];
    if (std::fabs(v) < 1e15 && std::floor(v) == v) {
        std::snprintf(buf, sizeof(buf), "%.1f", v);  // counters: 100.0, not 1e+02
        return buf;
    }
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    std::string s(buf);
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // prometheus_client style
    return s;
}

std::string escape_label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string& out, const std::string& name, const std::string& labels, double v) {
    out += name;
    out += '{';
    out += labels;
    out += "} ";
    out += format_number(v);
    out += '\n';
}

/// One counter with one sample: `name`'s HELP/TYPE, then `name`_total.
void write_counter(std::string& out, const char* name, const char* help, const std::string& labels,
                   double v) {
    header(out, name, "counter", help);
    sample(out, std::string(name) + "_total", labels, v);
}

/// One gauge with one sample.
void write_gauge(std::string& out, const char* name, const char* help, const std::string& labels,
                 double v) {
    header(out, name, "gauge", help);
    sample(out, name, labels, v);
}

}  // namespace

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void histogram::observe(double value) {
    const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    ++counts_[static_cast<size_t>(it - bounds_.begin())];
    ++count_;
    sum_ += value;
}

void histogram::write(std::string& out, const std::string& name, const std::string& labels) const {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
        cumulative += counts_[i];
        const std::string le = i < bounds_.size() ? format_number(bounds_[i]) : "+Inf";
        sample(out, name + "_bucket", "le=\"" + le + "\"," + labels,
               static_cast<double>(cumulative));
    }
    sample(out, name + "_count", labels, static_cast<double>(count_));
    sample(out, name + "_sum", labels, sum_);
}

const std::vector<double>& ttft_buckets() {
    static const std::vector<double> b = {0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                          0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                          20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
    return b;
}

const std::vector<double>& inter_token_buckets() {
    static const std::vector<double> b = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                          0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
    return b;
}

const std::vector<double>& request_latency_buckets() {
    static const std::vector<double> b = {0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                          5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                          60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
    return b;
}

server_metrics::server_metrics(std::string model_name)
    : model_label_("model_name=\"" + escape_label(model_name) + "\""),
      ttft_(ttft_buckets()),
      itl_(inter_token_buckets()),
      e2e_(request_latency_buckets()),
      queue_(request_latency_buckets()) {}

void server_metrics::observe_time_to_first_token(double seconds) {
    std::lock_guard lock(mu_);
    ttft_.observe(seconds);
}

void server_metrics::observe_inter_token_latency(double seconds) {
    std::lock_guard lock(mu_);
    itl_.observe(seconds);
}

void server_metrics::observe_e2e_latency(double seconds) {
    std::lock_guard lock(mu_);
    e2e_.observe(seconds);
}

void server_metrics::observe_queue_time(double seconds) {
    std::lock_guard lock(mu_);
    queue_.observe(seconds);
}

void server_metrics::count_finished(finish_reason reason) {
    std::lock_guard lock(mu_);
    switch (reason) {
        case finish_reason::stop: ++finished_stop_; break;
        case finish_reason::length: ++finished_length_; break;
        case finish_reason::abort: ++finished_abort_; break;
        default: break;
    }
}

namespace {

/// The external prefix cache (vLLM's names) and the KV connector's tiers (ours, in
/// the same style): what a dashboard needs to see offloading pay or fail.
void write_kv_connector_metrics(std::string& out, const engine_stats& s, const std::string& l) {
    auto counter = [&](const char* name, const char* help, double v) {
        write_counter(out, name, help, l, v);
    };
    auto gauge = [&](const char* name, const char* help, double v) {
        write_gauge(out, name, help, l, v);
    };
    counter("vllm:external_prefix_cache_queries",
            "External prefix cache queries from KV connector cross-instance cache sharing, "
            "in terms of number of queried tokens.",
            static_cast<double>(s.external_prefix_cache_queries_total));
    counter("vllm:external_prefix_cache_hits",
            "External prefix cache hits from KV connector cross-instance cache sharing, in "
            "terms of number of cached tokens.",
            static_cast<double>(s.external_prefix_cache_hits_total));
    gauge("vllm:num_requests_waiting_for_remote_kvs",
          "Requests whose KV blocks a KV connector is loading.",
          static_cast<double>(s.num_requests_waiting_for_remote_kvs));
    counter("actorlm:kv_connector_blocks_loaded", "KV blocks loaded from the connector's tier.",
            static_cast<double>(s.kv_connector_blocks_loaded_total));
    counter("actorlm:kv_connector_bytes_loaded", "Bytes of KV blocks loaded from the tier.",
            static_cast<double>(s.kv_connector_bytes_loaded_total));
    counter("actorlm:kv_connector_blocks_saved", "KV blocks saved to the connector's tier.",
            static_cast<double>(s.kv_connector_blocks_saved_total));
    counter("actorlm:kv_connector_bytes_saved", "Bytes of KV blocks saved to the tier.",
            static_cast<double>(s.kv_connector_bytes_saved_total));
    counter("actorlm:kv_connector_load_seconds", "Time spent loading KV blocks (I/O threads).",
            s.kv_connector_load_seconds_total);
    counter("actorlm:kv_connector_save_seconds", "Time spent saving KV blocks (I/O threads).",
            s.kv_connector_save_seconds_total);
    counter("actorlm:kv_connector_load_errors",
            "Blocks that failed to load (checksum, size, I/O) and were recomputed.",
            static_cast<double>(s.kv_connector_load_errors_total));
    counter("actorlm:kv_connector_save_errors", "Block saves that failed (disk full, I/O).",
            static_cast<double>(s.kv_connector_save_errors_total));
    counter("actorlm:kv_connector_saves_skipped",
            "Blocks not saved because saving stopped or the tier was over capacity.",
            static_cast<double>(s.kv_connector_saves_skipped_total));
    counter("actorlm:kv_connector_evictions", "Blocks the tier's LRU dropped.",
            static_cast<double>(s.kv_connector_evictions_total));
    gauge("actorlm:kv_connector_blocks_stored", "KV blocks the connector's tier holds.",
          static_cast<double>(s.kv_connector_blocks_stored));
    gauge("actorlm:kv_connector_bytes_stored", "Bytes of KV blocks the tier holds.",
          static_cast<double>(s.kv_connector_bytes_stored));
}

/// A router's members, one sample each (the summed counters above are the cluster's).
void write_cluster_member_metrics(std::string& out, const std::vector<cluster_member_info>& ms,
                                  const std::string& l) {
    if (ms.empty()) return;
    auto labels = [&](const cluster_member_info& m) {
        return "member=\"" + m.address + "\",role=\"" + m.role + "\"," + l;
    };
    header(out, "actorlm:cluster_member_healthy", "gauge",
           "1 while the router reaches the cluster member and it reports healthy.");
    for (const auto& m : ms)
        sample(out, "actorlm:cluster_member_healthy", labels(m), m.healthy ? 1.0 : 0.0);
    header(out, "actorlm:cluster_member_num_requests_running", "gauge",
           "Requests running on the cluster member, as last polled.");
    for (const auto& m : ms)
        sample(out, "actorlm:cluster_member_num_requests_running", labels(m),
               static_cast<double>(m.num_requests_running));
    header(out, "actorlm:cluster_member_num_requests_waiting", "gauge",
           "Requests waiting on the cluster member, as last polled.");
    for (const auto& m : ms)
        sample(out, "actorlm:cluster_member_num_requests_waiting", labels(m),
               static_cast<double>(m.num_requests_waiting));
}

/// Speculative decoding (vLLM's spec_decode counters, same names and labels); written
/// only when the engine speculates, as vLLM registers them only with a speculative config.
void write_spec_decode_metrics(std::string& out, const engine_stats& s, const std::string& l) {
    if (s.spec_decode_num_accepted_tokens_per_pos.empty()) return;
    const auto n = [](int64_t v) { return static_cast<double>(v); };
    write_counter(out, "vllm:spec_decode_num_drafts", "Number of spec decoding drafts.", l,
                  n(s.spec_decode_num_drafts_total));
    write_counter(out, "vllm:spec_decode_num_draft_tokens", "Number of draft tokens.", l,
                  n(s.spec_decode_num_draft_tokens_total));
    write_counter(out, "vllm:spec_decode_num_accepted_tokens", "Number of accepted tokens.", l,
                  n(s.spec_decode_num_accepted_tokens_total));
    header(out, "vllm:spec_decode_num_accepted_tokens_per_pos", "counter",
           "Accepted tokens per draft position.");
    for (size_t j = 0; j < s.spec_decode_num_accepted_tokens_per_pos.size(); ++j)
        sample(out, "vllm:spec_decode_num_accepted_tokens_per_pos_total",
               l + ",position=\"" + std::to_string(j) + "\"",
               n(s.spec_decode_num_accepted_tokens_per_pos[j]));
}

}  // namespace

std::string server_metrics::exposition(const engine_stats& s,
                                       const std::vector<cluster_member_info>& members) const {
    const std::string& l = model_label_;
    std::string out;
    out.reserve(16384);
    const auto n = [](int64_t v) { return static_cast<double>(v); };
    write_gauge(out, "vllm:num_requests_running", "Number of requests in model execution batches.",
                l, n(s.num_requests_running));
    write_gauge(out, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", l,
                n(s.num_requests_waiting));
    write_gauge(out, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", l,
                s.kv_cache_usage);
    write_gauge(out, "actorlm:kv_cache_reserved_bytes",
                "Bytes of the KV-cache pool allocated, all pipeline stages.", l,
                n(s.kv_cache_reserved_bytes));
    write_gauge(out, "actorlm:kv_cache_resident_bytes",
                "Bytes of the KV-cache pool in memory now (a CPU pool's pages are faulted in "
                "as blocks are first written; measured at most once a second).",
                l, n(s.kv_cache_resident_bytes));
    write_counter(out, "vllm:prompt_tokens", "Number of prefill tokens processed.", l,
                  n(s.prompt_tokens_total));
    write_counter(out, "vllm:generation_tokens", "Number of generation tokens processed.", l,
                  n(s.generation_tokens_total));
    write_counter(out, "vllm:prefix_cache_queries",
                  "Prefix cache queries, in terms of number of queried tokens.", l,
                  n(s.prefix_cache_queries_total));
    write_counter(out, "vllm:prefix_cache_hits",
                  "Prefix cache hits, in terms of number of cached tokens.", l,
                  n(s.prefix_cache_hits_total));
    write_counter(out, "vllm:num_preemptions", "Cumulative number of preemption from the engine.",
                  l, n(s.num_preemptions_total));
    write_counter(out, "actorlm:engine_steps", "Engine steps the workers answered.", l,
                  n(s.engine_steps_total));
    write_counter(out, "actorlm:worker_busy_seconds",
                  "Seconds the (first-stage) worker spent running steps; under load the rest "
                  "of the wall time it waited for the scheduler.",
                  l, s.worker_busy_seconds_total);
    write_counter(out, "actorlm:worker_wait_seconds",
                  "Seconds the (first-stage) worker waited between two steps while the engine "
                  "had work; divided by the steps, the mean gap async scheduling closes.",
                  l, s.worker_wait_seconds_total);
    write_counter(out, "vllm:mm_cache_queries",
                  "Multi-modal processor cache queries, in terms of number of images.", l,
                  n(s.mm_processor_cache_queries_total));
    write_counter(out, "vllm:mm_cache_hits",
                  "Multi-modal processor cache hits, in terms of number of images.", l,
                  n(s.mm_processor_cache_hits_total));
    write_counter(out, "actorlm:mm_images_processed",
                  "Images decoded and preprocessed (not found in the processor cache).", l,
                  n(s.mm_images_processed_total));
    write_counter(out, "actorlm:encoder_cache_queries",
                  "Multi-modal inputs the scheduler looked up in its encoder cache.", l,
                  n(s.encoder_cache_queries_total));
    write_counter(
        out, "actorlm:encoder_cache_hits",
        "Multi-modal inputs whose encoder output was already cached (the encoder skipped).", l,
        n(s.encoder_cache_hits_total));
    write_kv_connector_metrics(out, s, l);
    write_spec_decode_metrics(out, s, l);
    write_cluster_member_metrics(out, members, l);

    std::lock_guard lock(mu_);
    header(out, "vllm:request_success", "counter", "Count of successfully processed requests.");
    sample(out, "vllm:request_success_total", "finished_reason=\"stop\"," + l,
           static_cast<double>(finished_stop_));
    sample(out, "vllm:request_success_total", "finished_reason=\"length\"," + l,
           static_cast<double>(finished_length_));
    sample(out, "vllm:request_success_total", "finished_reason=\"abort\"," + l,
           static_cast<double>(finished_abort_));
    header(out, "vllm:time_to_first_token_seconds", "histogram",
           "Histogram of time to first token in seconds.");
    ttft_.write(out, "vllm:time_to_first_token_seconds", l);
    header(out, "vllm:inter_token_latency_seconds", "histogram",
           "Histogram of inter-token latency in seconds.");
    itl_.write(out, "vllm:inter_token_latency_seconds", l);
    header(out, "vllm:e2e_request_latency_seconds", "histogram",
           "Histogram of e2e request latency in seconds.");
    e2e_.write(out, "vllm:e2e_request_latency_seconds", l);
    header(out, "vllm:request_queue_time_seconds", "histogram",
           "Histogram of time spent in WAITING phase for request.");
    queue_.write(out, "vllm:request_queue_time_seconds", l);
    return out;
}

}  // namespace actorlm::net

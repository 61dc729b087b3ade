// server_counters: reads a server's Prometheus /metrics: the counters bench-serve
// reports next to its own figures (the prefix cache's queries and hits, local and
// through a KV connector), so prefix reuse shows in the result, and the load gauges
// a soak samples while it runs. Blocking HTTP on the caller's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace actorlm::net {

class http_client;

/// The sum over label sets of the samples of `name` (e.g. "vllm:prefix_cache_hits_total") in
/// Prometheus text `text`; nullopt when no sample has that exact name.
std::optional<double> prometheus_sum(std::string_view text, std::string_view name);

/// vLLM's prefix-cache counters, in tokens; negative when the server does not export one.
struct prefix_cache_counters {
    double queries = -1.0;
    double hits = -1.0;
    double external_queries = -1.0;  // {vllm,actorlm}:external_prefix_cache_* (KV connector)
    double external_hits = -1.0;
};

/// Reads the counters from GET /metrics; nullopt when the server does not answer 200.
std::optional<prefix_cache_counters> fetch_prefix_cache_counters(const std::string& host,
                                                                 uint16_t port,
                                                                 const std::string& api_key);

/// The engine's load gauges (and its preemption count), as a soak samples them.
struct server_load {
    double running = -1.0;         // vllm:num_requests_running
    double waiting = -1.0;         // vllm:num_requests_waiting
    double kv_cache_usage = -1.0;  // vllm:kv_cache_usage_perc (0..1): blocks held by requests
    double preemptions = -1.0;     // vllm:num_preemptions_total
};

/// Reads them from GET /metrics on `client`; nullopt when the server does not answer 200.
std::optional<server_load> fetch_server_load(http_client& client, const std::string& api_key);

/// after - before, counter by counter (negative where either side lacks it).
prefix_cache_counters counter_increase(const prefix_cache_counters& before,
                                       const prefix_cache_counters& after);

}  // namespace actorlm::net

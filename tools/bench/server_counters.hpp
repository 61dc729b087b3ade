// server_counters: reads a server's Prometheus /metrics counters that bench-serve
// reports next to its own figures (the prefix cache's queries and hits, local and
// through a KV connector), so prefix reuse shows in the result. Blocking HTTP on
// the caller's thread; called before and after a run, never during one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace actorlm::net {

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

/// after - before, counter by counter (negative where either side lacks it).
prefix_cache_counters counter_increase(const prefix_cache_counters& before,
                                       const prefix_cache_counters& after);

}  // namespace actorlm::net

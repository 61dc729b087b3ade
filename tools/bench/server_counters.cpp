// server_counters: a line scanner for Prometheus text (name, optional {labels},
// value) and the GET /metrics call (see server_counters.hpp).
#include "bench/server_counters.hpp"

#include <cstdlib>

#include "bench/http_client.hpp"

namespace actorlm::net {

std::optional<double> prometheus_sum(std::string_view text, std::string_view name) {
    std::optional<double> sum;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos) eol = text.size();
        const std::string_view line = text.substr(pos, eol - pos);
        pos = eol + 1;
        if (line.size() <= name.size() || line.substr(0, name.size()) != name) continue;
        size_t value_at = name.size();
        if (line[value_at] == '{') {
            const size_t close = line.find('}', value_at);
            if (close == std::string_view::npos) continue;
            value_at = close + 1;
        } else if (line[value_at] != ' ') {
            continue;  // a longer name with this one as prefix
        }
        const std::string value(line.substr(value_at));
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        if (end == value.c_str()) continue;
        sum = sum.value_or(0.0) + v;
    }
    return sum;
}

namespace {

// GET /metrics; nullopt unless the server answers 200.
std::optional<std::string> fetch_metrics_text(http_client& client, const std::string& api_key) {
    std::map<std::string, std::string> headers;
    if (!api_key.empty()) headers["Authorization"] = "Bearer " + api_key;
    auto r = client.request("GET", "/metrics", {}, headers);
    if (!r || r.value().status != 200) return std::nullopt;
    return std::move(r.value().body);
}

}  // namespace

std::optional<prefix_cache_counters> fetch_prefix_cache_counters(const std::string& host,
                                                                 uint16_t port,
                                                                 const std::string& api_key) {
    http_client client(host, port, 30);
    const auto metrics = fetch_metrics_text(client, api_key);
    if (!metrics) return std::nullopt;
    const std::string& text = *metrics;
    auto get = [&](std::string_view name) { return prometheus_sum(text, name).value_or(-1.0); };
    prefix_cache_counters c;
    c.queries = get("vllm:prefix_cache_queries_total");
    c.hits = get("vllm:prefix_cache_hits_total");
    // vLLM's names for the connector's share, else ours (docs/kv-connectors.md, Counters).
    auto either = [&](std::string_view vllm_name, std::string_view our_name) {
        const double v = get(vllm_name);
        return v >= 0 ? v : get(our_name);
    };
    c.external_queries = either("vllm:external_prefix_cache_queries_total",
                                "actorlm:external_prefix_cache_queries_total");
    c.external_hits =
        either("vllm:external_prefix_cache_hits_total", "actorlm:external_prefix_cache_hits_total");
    return c;
}

std::optional<server_load> fetch_server_load(http_client& client, const std::string& api_key) {
    const auto metrics = fetch_metrics_text(client, api_key);
    if (!metrics) return std::nullopt;
    const std::string& text = *metrics;
    auto get = [&](std::string_view name) { return prometheus_sum(text, name).value_or(-1.0); };
    server_load load;
    load.running = get("vllm:num_requests_running");
    load.waiting = get("vllm:num_requests_waiting");
    load.kv_cache_usage = get("vllm:kv_cache_usage_perc");
    load.preemptions = get("vllm:num_preemptions_total");
    return load;
}

prefix_cache_counters counter_increase(const prefix_cache_counters& before,
                                       const prefix_cache_counters& after) {
    auto diff = [](double b, double a) { return a >= 0 && b >= 0 ? a - b : -1.0; };
    return {diff(before.queries, after.queries), diff(before.hits, after.hits),
            diff(before.external_queries, after.external_queries),
            diff(before.external_hits, after.external_hits)};
}

}  // namespace actorlm::net

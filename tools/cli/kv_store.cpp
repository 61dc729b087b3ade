// `actorlm kv-store --listen HOST:PORT --memory 8GiB [--disk DIR]`: the shared KV
// store (actors/kv_store_actor.hpp) in its own process, published through CAF's
// middleman for engines configured with the "KVStoreConnector". Logs its stats every
// --stats-interval seconds, serves them as Prometheus text on --metrics-port, and
// exits cleanly on SIGTERM/SIGINT. This file also registers the connector for every
// CLI command at start-up (generate, bench-throughput; serve registers it itself).
#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "metrics_listener.hpp"
#include "tls_options.hpp"

#include "actors/kv_store_actor.hpp"
#include "actors/kv_store_client.hpp"
#include "actors/node_tls.hpp"
#include "actors/runtime_config.hpp"

namespace kv_store_command {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct kv_store_cli_options {
    std::string listen;
    int64_t memory_bytes = int64_t{8} << 30;
    std::string disk_dir;
    int64_t disk_bytes = int64_t{64} << 30;
    int64_t stats_interval_s = 10;
    int64_t metrics_port = 0;
    actorlm::tls_config tls;
};

/// Prometheus exposition text (vLLM's "prefix:name" style, as the server's /metrics).
std::string prometheus_text(const actorlm::actors::kv_store_stats& s) {
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, int64_t v) {
        out += std::string("# HELP actorlm:kv_store_") + name + " " + help + "\n";
        out += std::string("# TYPE actorlm:kv_store_") + name + " " + type + "\n";
        out += std::string("actorlm:kv_store_") + name + " " + std::to_string(v) + "\n";
    };
    metric("memory_capacity_bytes", "gauge", "Payload bytes the memory tier may hold.",
           s.memory_capacity_bytes);
    metric("memory_bytes", "gauge", "Payload bytes held in memory.", s.memory_bytes);
    metric("memory_blocks", "gauge", "Blocks held in memory.", s.memory_blocks);
    metric("disk_capacity_bytes", "gauge", "Bytes each disk tier may hold (0: no disk tier).",
           s.disk_capacity_bytes);
    metric("disk_bytes", "gauge", "Bytes held on disk.", s.disk_bytes);
    metric("disk_blocks", "gauge", "Blocks held on disk.", s.disk_blocks);
    metric("lookups_total", "counter", "Hash-chain lookups answered.", s.lookups);
    metric("hits_total", "counter", "Blocks loads asked for and got.", s.hits);
    metric("misses_total", "counter", "Blocks loads asked for and did not get.", s.misses);
    metric("evictions_total", "counter", "Blocks evicted from memory.", s.evictions);
    metric("saves_total", "counter", "Blocks stored.", s.saves);
    metric("loads_total", "counter", "Load requests answered.", s.loads);
    metric("bytes_saved_total", "counter", "Payload bytes stored.", s.bytes_saved);
    metric("bytes_loaded_total", "counter", "Payload bytes sent to engines.", s.bytes_loaded);
    metric("rejected_total", "counter", "Malformed requests refused.", s.rejected);
    metric("subscribers", "gauge", "Engines subscribed to store events.", s.subscribers);
    return out;
}

/// The store's stats, or nullopt when it does not answer within 5 s.
std::optional<actorlm::actors::kv_store_stats> query_stats(
    caf::actor_system& sys, const actorlm::actors::kv_store_actor& store) {
    std::optional<actorlm::actors::kv_store_stats> out;
    caf::scoped_actor self{sys, true};
    self->request(store, std::chrono::seconds(5), actorlm::actors::stats_atom_v)
        .receive([&](actorlm::actors::kv_store_stats& s) { out = s; }, [](caf::error&) {});
    return out;
}

int run_kv_store(const kv_store_cli_options& o) {
    using namespace actorlm::actors;
    auto addr = actorlm::parse_host_port(o.listen);  // checked while parsing
    if (!addr) {
        std::fprintf(stderr, "actorlm kv-store: --listen %s\n", addr.message().c_str());
        return 2;
    }
    runtime_config cfg(std::chrono::milliseconds(200), k_kv_transfer_connection_timeout);
    if (auto err = configure_node_tls(cfg, o.tls); !err.empty()) {
        std::fprintf(stderr, "actorlm kv-store: %s\n", err.c_str());
        return 2;
    }
    caf::actor_system sys{cfg};
    kv_store_options so;
    so.memory_bytes = o.memory_bytes;
    so.disk_dir = o.disk_dir;
    so.disk_bytes = o.disk_bytes;
    auto store = spawn_kv_store(sys, so);
    if (!store) {
        std::fprintf(stderr, "actorlm kv-store: %s\n", store.message().c_str());
        return 1;
    }
    auto port = publish_node(*store, addr->host, addr->port);
    if (!port) {
        std::fprintf(stderr, "actorlm kv-store: cannot listen on %s: %s\n", o.listen.c_str(),
                     sys.render(port.error()).c_str());
        caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
        return 1;
    }
    std::unique_ptr<actorlm::cli::metrics_listener> metrics;
    if (o.metrics_port > 0) {
        auto m = actorlm::cli::metrics_listener::start(
            addr->host, static_cast<uint16_t>(o.metrics_port), [&sys, s = *store] {
                auto st = query_stats(sys, s);
                return st ? prometheus_text(*st) : std::string("# the store did not answer\n");
            });
        if (!m) {
            std::fprintf(stderr, "actorlm kv-store: %s\n", m.message().c_str());
            caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
            return 1;
        }
        metrics = std::move(m).value();
    }
    std::printf("actorlm kv-store: listening on %s:%u%s (memory %lld bytes%s%s)",
                addr->host.c_str(), static_cast<unsigned>(*port),
                node_uses_tls(sys) ? " with mutual TLS" : "", static_cast<long long>(o.memory_bytes),
                o.disk_dir.empty() ? "" : ", disk ", o.disk_dir.c_str());
    if (metrics)
        std::printf(", metrics on http://%s:%u/metrics", addr->host.c_str(),
                    static_cast<unsigned>(metrics->port()));
    std::printf("\n");
    std::fflush(stdout);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    auto next_log = std::chrono::steady_clock::now() + std::chrono::seconds(o.stats_interval_s);
    while (!g_stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (o.stats_interval_s <= 0 || std::chrono::steady_clock::now() < next_log) continue;
        next_log += std::chrono::seconds(o.stats_interval_s);
        if (auto s = query_stats(sys, *store))
            std::printf(
                "actorlm kv-store: %lld blocks, %lld/%lld bytes in memory, %lld blocks on disk; "
                "hits %lld, misses %lld, saves %lld, evictions %lld, rejected %lld, "
                "subscribers %lld\n",
                static_cast<long long>(s->memory_blocks), static_cast<long long>(s->memory_bytes),
                static_cast<long long>(s->memory_capacity_bytes),
                static_cast<long long>(s->disk_blocks), static_cast<long long>(s->hits),
                static_cast<long long>(s->misses), static_cast<long long>(s->saves),
                static_cast<long long>(s->evictions), static_cast<long long>(s->rejected),
                static_cast<long long>(s->subscribers));
        std::fflush(stdout);
    }
    metrics.reset();
    caf::anon_send_exit(*store, caf::exit_reason::user_shutdown);
    std::printf("actorlm kv-store: stopped\n");
    return 0;
}

actorlm::cli::command_action setup_kv_store(CLI::App& app) {
    using namespace actorlm::cli;
    auto o = std::make_shared<kv_store_cli_options>();
    app.add_option("--listen", o->listen, "HOST:PORT to publish the store on")
        ->required()
        ->type_name("HOST:PORT")
        ->check(host_port_text());
    app.add_option("--memory", o->memory_bytes, "payload bytes held in memory, e.g. 8GiB")
        ->type_name("SIZE")
        ->transform(byte_size())
        ->capture_default_str();
    app.add_option("--disk", o->disk_dir,
                   "directory of the disk tier (blocks evicted from memory go there; kept "
                   "across restarts)")
        ->type_name("DIR");
    app.add_option("--disk-capacity", o->disk_bytes,
                   "bytes the disk tier may hold per block size, e.g. 64GiB")
        ->type_name("SIZE")
        ->transform(byte_size())
        ->capture_default_str();
    app.add_option("--stats-interval", o->stats_interval_s,
                   "seconds between stats lines on stdout (0: none)")
        ->check(non_negative())
        ->capture_default_str();
    app.add_option("--metrics-port", o->metrics_port,
                   "serve Prometheus text on http://HOST:PORT/metrics (0: off)")
        ->check(non_negative())
        ->check(CLI::Range(int64_t{0}, int64_t{65535}))
        ->capture_default_str();
    add_tls_options(app, o->tls);
    return [o] { return run_kv_store(*o); };
}

actorlm::cli::command_registration reg("kv-store", "run a shared KV store for many engines",
                                       setup_kv_store);

// Every CLI command's engine can then be configured with "KVStoreConnector".
const bool kv_store_connector_registered = [] {
    actorlm::actors::register_kv_store_connector();
    return true;
}();

}  // namespace kv_store_command

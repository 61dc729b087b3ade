// `actorlm soak`: drives a running server for a set time with the soak mix
// (tools/bench/soak_workload.hpp) from many client threads, samples the server
// process (RSS, open fds; with --server-pid) and its load gauges, and fails on any
// answer a correct server would not give and on any leak: requests still running
// or KV blocks still held once the clients stop, fds above the idle baseline, RSS
// grown past --max-rss-growth after the warm-up. `tools/soak` starts a server
// configured to preempt and runs this against it.
//
// Idle snapshots are taken with no client connected (the sampler's connection is
// closed first), so "fds back to baseline" compares like with like; the RSS check
// compares the idle process after the warm-up with the idle process at the end,
// because the allocator keeps what the first minutes of load made it reserve.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "json_output.hpp"
#include "bench/http_client.hpp"
#include "bench/process_stats.hpp"
#include "bench/prompt_words.hpp"
#include "bench/server_counters.hpp"
#include "bench/soak_workload.hpp"
#include "net/json_writer.hpp"

namespace soak_command {

using namespace actorlm::net;
using soak_clock = std::chrono::steady_clock;

struct soak_args {
    std::string base_url = "http://127.0.0.1:8000";
    std::string api_key;
    std::string model;
    double duration_s = 60.0;
    double warmup_s = -1.0;  // < 0: a tenth of the duration, at most 60 s
    int32_t clients = 16;
    int32_t server_pid = 0;  // 0: no process figures (a remote server)
    double sample_interval_s = 5.0;
    double max_rss_growth = 0.05;  // <= 0: not checked (sanitizer builds)
    int32_t request_timeout_s = 120;
    int32_t idle_timeout_s = 60;
    int32_t shared_prefixes = 4;
    uint64_t seed = 0;
    std::string output;  // the figures and samples as JSON
};

/// Per-kind outcome counts and the faults, shared by the client threads.
class soak_tally {
public:
    void record(soak_kind kind, const std::optional<std::string>& fault) {
        std::lock_guard lock(mu_);
        auto& k = by_kind_[static_cast<size_t>(kind)];
        ++k.sent;
        if (!fault) return;
        ++k.faults;
        const std::string key = std::string(soak_kind_name(kind)) + ": " + fault->substr(0, 120);
        ++faults_[key];
    }
    int64_t requests() const {
        std::lock_guard lock(mu_);
        int64_t n = 0;
        for (const auto& k : by_kind_) n += k.sent;
        return n;
    }

    struct kind_counts {
        int64_t sent = 0;
        int64_t faults = 0;
    };
    std::array<kind_counts, k_soak_kind_count> by_kind() const {
        std::lock_guard lock(mu_);
        return by_kind_;
    }
    std::map<std::string, int64_t> faults() const {
        std::lock_guard lock(mu_);
        return faults_;
    }

private:
    mutable std::mutex mu_;
    std::array<kind_counts, k_soak_kind_count> by_kind_{};
    std::map<std::string, int64_t> faults_;  // "<kind>: <what>" -> count
};

/// One look at the server: process figures (when a pid is known) and load gauges.
struct server_sample {
    double at_s = 0.0;
    actorlm::net::process_stats process;
    server_load load;
    int64_t requests_done = 0;
};

std::map<std::string, std::string> auth_headers(const std::string& api_key) {
    std::map<std::string, std::string> headers;
    if (!api_key.empty()) headers["Authorization"] = "Bearer " + api_key;
    return headers;
}

void client_loop(const soak_args& a, const actorlm::host_port& address, const soak_model_facts& facts,
                 const std::vector<std::vector<int32_t>>& prefixes, uint64_t seed,
                 soak_clock::time_point deadline, soak_tally& tally) {
    http_client client(address.host, address.port, a.request_timeout_s);
    std::mt19937_64 rng(seed);
    const auto headers = auth_headers(a.api_key);
    while (soak_clock::now() < deadline) {
        const soak_request request = make_soak_request(facts, prefixes, rng);
        tally.record(request.kind, run_soak_request(client, request, headers));
    }
}

/// What the soak learns from the server before it starts: a pool of valid token ids and
/// max_model_len from POST /tokenize, and whether chat works (the model has a template).
actorlm::result<soak_model_facts> learn_model(http_client& control, const soak_args& a) {
    std::mt19937_64 rng(a.seed);
    std::string text;
    for (int i = 0; i < 3000; ++i) {
        if (i > 0) text += ' ';
        text += k_prompt_words[rng() % std::size(k_prompt_words)];
    }
    json_writer w;
    w.begin_object().field("prompt", text);
    if (!a.model.empty()) w.field("model", a.model);
    w.end_object();
    const auto headers = auth_headers(a.api_key);
    auto r = control.request("POST", "/tokenize", w.str(), headers);
    if (!r) return actorlm::make_error("POST /tokenize: %s", r.message().c_str());
    if (r.value().status != 200)
        return actorlm::make_error("POST /tokenize answered %d: %s", r.value().status,
                                   r.value().body.c_str());
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array tokens;
    int64_t max_model_len = 0;
    if (parser.parse(r.value().body).get(doc) != simdjson::SUCCESS ||
        doc["tokens"].get(tokens) != simdjson::SUCCESS ||
        doc["max_model_len"].get(max_model_len) != simdjson::SUCCESS)
        return actorlm::make_error("POST /tokenize: no tokens and max_model_len in the answer");
    soak_model_facts facts;
    facts.model = a.model;
    facts.max_model_len = static_cast<int32_t>(max_model_len);
    for (auto t : tokens) facts.token_pool.push_back(static_cast<int32_t>(int64_t(t)));
    if (facts.token_pool.size() < 16 || facts.max_model_len < 32)
        return actorlm::make_error("the model is too small to soak (%zu prompt tokens, "
                                   "max_model_len %d)",
                                   facts.token_pool.size(), facts.max_model_len);
    json_writer chat;
    chat.begin_object().field("max_tokens", 1).key("messages").begin_array();
    chat.begin_object().field("role", "user").field("content", "hi").end_object();
    chat.end_array();
    if (!a.model.empty()) chat.field("model", a.model);
    chat.end_object();
    auto probe = control.request("POST", "/v1/chat/completions", chat.str(), headers);
    facts.chat = probe && probe.value().status == 200;
    return facts;
}

/// Waits until the engine holds no request (or the idle timeout passes), then closes the
/// sampler's own connection and reads the process with no client connected. Retries the
/// fd count for a few seconds while it is above `fd_ceiling` (a socket the server is still
/// closing), so a real leak stays and a straggler does not.
server_sample idle_snapshot(http_client& control, const soak_args& a, double at_s,
                            int32_t fd_ceiling, bool* idle) {
    server_sample s;
    s.at_s = at_s;
    const auto until = soak_clock::now() + std::chrono::seconds(a.idle_timeout_s);
    *idle = false;
    while (soak_clock::now() < until) {
        if (auto load = fetch_server_load(control, a.api_key)) {
            s.load = *load;
            if (load->running == 0 && load->waiting == 0) {
                *idle = true;
                break;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    control.disconnect();
    if (a.server_pid <= 0) return s;
    for (int attempt = 0; attempt < 20; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        if (auto p = read_process_stats(a.server_pid)) s.process = p.value();
        if (fd_ceiling < 0 || s.process.open_fds <= fd_ceiling) break;
    }
    return s;
}

/// Runs the clients until `seconds` have passed, sampling every sample interval.
void run_phase(const soak_args& a, const actorlm::host_port& address, const soak_model_facts& facts,
               const std::vector<std::vector<int32_t>>& prefixes, double seconds, uint64_t seed,
               soak_clock::time_point start, http_client& control, soak_tally& tally,
               std::vector<server_sample>& samples) {
    const auto deadline =
        soak_clock::now() + std::chrono::duration_cast<soak_clock::duration>(
                                std::chrono::duration<double>(seconds));
    std::vector<std::thread> clients;
    for (int32_t c = 0; c < a.clients; ++c)
        clients.emplace_back([&, c] {
            client_loop(a, address, facts, prefixes, seed * 1000003 + static_cast<uint64_t>(c),
                        deadline, tally);
        });
    const auto interval = std::chrono::duration_cast<soak_clock::duration>(
        std::chrono::duration<double>(a.sample_interval_s));
    for (auto next = soak_clock::now() + interval; next < deadline; next += interval) {
        std::this_thread::sleep_until(next);
        server_sample s;
        s.at_s = std::chrono::duration<double>(soak_clock::now() - start).count();
        if (auto load = fetch_server_load(control, a.api_key)) s.load = *load;
        if (a.server_pid > 0)
            if (auto p = read_process_stats(a.server_pid)) s.process = p.value();
        s.requests_done = tally.requests();
        samples.push_back(s);
    }
    for (auto& t : clients) t.join();
}

void write_sample(json_writer& w, const server_sample& s) {
    w.begin_object().field("t_s", actorlm::cli::rounded(s.at_s, 1));
    w.field("rss_bytes", s.process.rss_bytes).field("open_fds", s.process.open_fds);
    w.field("running", s.load.running).field("waiting", s.load.waiting);
    w.field("kv_cache_usage", actorlm::cli::rounded(s.load.kv_cache_usage, 4));
    w.field("preemptions", s.load.preemptions).field("requests_done", s.requests_done);
    w.end_object();
}

double mib(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

int run_soak(const soak_args& a) {
    const auto url = actorlm::cli::parse_base_url(a.base_url).value();  // checked when parsed
    const actorlm::host_port& address = url;
    http_client control(url.host, url.port, 30);
    auto learned = learn_model(control, a);
    if (!learned) {
        std::fprintf(stderr, "soak: %s\n", learned.message().c_str());
        return 1;
    }
    const soak_model_facts facts = std::move(learned.value());
    std::mt19937_64 rng(a.seed);
    const auto prefixes = make_shared_prefixes(
        facts, a.shared_prefixes, std::max(8, std::min(128, facts.max_model_len / 2)), rng);
    const double warmup_s =
        a.warmup_s >= 0 ? std::min(a.warmup_s, a.duration_s) : std::min(60.0, a.duration_s / 10);
    std::fprintf(stderr,
                 "soak: %.0f s (%.0f s warm-up) with %d clients against %s; max_model_len %d, "
                 "chat %s\n",
                 a.duration_s, warmup_s, a.clients, a.base_url.c_str(), facts.max_model_len,
                 facts.chat ? "on" : "off (no chat template)");

    const auto start = soak_clock::now();
    auto since_start = [&] { return std::chrono::duration<double>(soak_clock::now() - start).count(); };
    soak_tally tally;
    std::vector<server_sample> samples;
    bool idle = false;
    const server_sample before = idle_snapshot(control, a, 0.0, -1, &idle);
    std::vector<std::string> failures;
    if (!idle) failures.push_back("the server was not idle before the soak");
    run_phase(a, address, facts, prefixes, warmup_s, a.seed + 1, start, control, tally, samples);
    const server_sample warm = idle_snapshot(control, a, since_start(), before.process.open_fds, &idle);
    if (!idle) failures.push_back("requests still running after the warm-up");
    run_phase(a, address, facts, prefixes, a.duration_s - warmup_s, a.seed + 2, start, control,
              tally, samples);
    const double load_s = since_start();
    const server_sample end = idle_snapshot(control, a, load_s, before.process.open_fds, &idle);

    // The verdict.
    const auto faults = tally.faults();
    int64_t fault_count = 0;
    for (const auto& [what, n] : faults) fault_count += n;
    if (fault_count > 0) failures.push_back(std::to_string(fault_count) + " unexpected answers");
    if (!idle || end.load.running != 0 || end.load.waiting != 0)
        failures.push_back("requests still held " + std::to_string(a.idle_timeout_s) +
                           " s after the clients stopped (running " +
                           std::to_string(end.load.running) + ", waiting " +
                           std::to_string(end.load.waiting) + ")");
    if (end.load.kv_cache_usage != 0)
        failures.push_back("KV blocks still held with no request (usage " +
                           std::to_string(end.load.kv_cache_usage) + ")");
    const bool have_process = a.server_pid > 0 && end.process.rss_bytes > 0;
    if (a.server_pid > 0 && !have_process)
        failures.push_back("cannot read process " + std::to_string(a.server_pid));
    if (have_process && end.process.open_fds > before.process.open_fds)
        failures.push_back("open fds " + std::to_string(end.process.open_fds) +
                           " at the end, " + std::to_string(before.process.open_fds) +
                           " before the soak");
    const double rss_growth =
        have_process && warm.process.rss_bytes > 0
            ? static_cast<double>(end.process.rss_bytes) / static_cast<double>(warm.process.rss_bytes) - 1.0
            : 0.0;
    if (have_process && a.max_rss_growth > 0 && rss_growth > a.max_rss_growth)
        failures.push_back("RSS grew " + std::to_string(rss_growth * 100) +
                           " % after the warm-up (limit " + std::to_string(a.max_rss_growth * 100) +
                           " %)");
    auto health = control.request("GET", "/health", {}, auth_headers(a.api_key));
    if (!health || health.value().status != 200)
        failures.push_back("GET /health does not answer 200 after the soak");
    control.disconnect();

    // The report.
    const int64_t requests = tally.requests();
    std::printf("soak: %lld requests in %.0f s (%.1f/s), %d clients\n",
                static_cast<long long>(requests), load_s, static_cast<double>(requests) / load_s,
                a.clients);
    const auto by_kind = tally.by_kind();
    for (int k = 0; k < k_soak_kind_count; ++k)
        if (by_kind[static_cast<size_t>(k)].sent > 0)
            std::printf("  %-20s %8lld sent, %lld unexpected\n",
                        std::string(soak_kind_name(static_cast<soak_kind>(k))).c_str(),
                        static_cast<long long>(by_kind[static_cast<size_t>(k)].sent),
                        static_cast<long long>(by_kind[static_cast<size_t>(k)].faults));
    for (const auto& [what, n] : faults)
        std::printf("  unexpected x%lld: %s\n", static_cast<long long>(n), what.c_str());
    const double preemptions =
        end.load.preemptions >= 0 && before.load.preemptions >= 0
            ? end.load.preemptions - before.load.preemptions
            : -1.0;
    std::printf("  preemptions %.0f; KV usage at the end %.4f; running %.0f, waiting %.0f\n",
                preemptions, end.load.kv_cache_usage, end.load.running, end.load.waiting);
    if (have_process)
        std::printf("  server RSS %.1f MiB before, %.1f after the warm-up, %.1f at the end (%+.2f %%);"
                    " open fds %d before, %d at the end\n",
                    mib(before.process.rss_bytes), mib(warm.process.rss_bytes),
                    mib(end.process.rss_bytes), rss_growth * 100, before.process.open_fds,
                    end.process.open_fds);
    for (const auto& f : failures) std::printf("  FAIL: %s\n", f.c_str());
    std::printf("soak: %s\n", failures.empty() ? "PASS" : "FAIL");

    if (!a.output.empty()) {
        json_writer w;
        w.begin_object().field("pass", failures.empty()).field("duration_s", load_s);
        w.field("warmup_s", warmup_s).field("clients", a.clients).field("requests", requests);
        w.field("preemptions", preemptions).field("rss_growth", rss_growth);
        w.key("by_kind").begin_object();
        for (int k = 0; k < k_soak_kind_count; ++k) {
            const auto& c = by_kind[static_cast<size_t>(k)];
            w.key(soak_kind_name(static_cast<soak_kind>(k))).begin_object();
            w.field("sent", c.sent).field("unexpected", c.faults).end_object();
        }
        w.end_object().key("unexpected").begin_object();
        for (const auto& [what, n] : faults) w.field(what, n);
        w.end_object().key("failures").begin_array();
        for (const auto& f : failures) w.value(f);
        w.end_array();
        w.key("before");
        write_sample(w, before);
        w.key("after_warmup");
        write_sample(w, warm);
        w.key("end");
        write_sample(w, end);
        w.key("samples").begin_array();
        for (const auto& s : samples) write_sample(w, s);
        w.end_array().end_object();
        std::ofstream f(a.output);
        f << w.str() << "\n";
        if (!f) {
            std::fprintf(stderr, "soak: cannot write %s\n", a.output.c_str());
            return 1;
        }
    }
    return failures.empty() ? 0 : 1;
}

actorlm::cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<soak_args>();
    soak_args& a = *o;
    app.add_option("--base-url", a.base_url, "server URL (http://HOST[:PORT])")
        ->check(actorlm::cli::base_url_text())
        ->capture_default_str();
    app.add_option("--api-key", a.api_key, "sent as Authorization: Bearer");
    app.add_option("--model", a.model, "model name sent in requests (default: the server's)");
    app.add_option("--duration", a.duration_s, "seconds of load, warm-up included")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--warmup", a.warmup_s,
                   "seconds of load before the idle RSS baseline (default: a tenth of "
                   "--duration, at most 60)")
        ->check(actorlm::cli::non_negative());
    app.add_option("--clients", a.clients, "concurrent client connections")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    app.add_option("--server-pid", a.server_pid,
                   "the server's process id, for RSS and open-fd checks (same host)")
        ->check(actorlm::cli::positive());
    app.add_option("--sample-interval", a.sample_interval_s, "seconds between samples")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--max-rss-growth", a.max_rss_growth,
                   "fail when idle RSS at the end exceeds idle RSS after the warm-up by more "
                   "than this fraction; 0: do not check")
        ->check(actorlm::cli::non_negative())
        ->capture_default_str();
    app.add_option("--request-timeout", a.request_timeout_s, "seconds per request")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.add_option("--idle-timeout", a.idle_timeout_s,
                   "seconds the server may take to finish its requests once the clients stop")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.add_option("--seed", a.seed, "random seed of the request mix")->capture_default_str();
    app.add_option("--output", a.output, "write the figures and samples as JSON");
    return [o] { return run_soak(*o); };
}

const actorlm::cli::command_registration registration(
    "soak", "drive a server with a mix of requests for a set time and check it for leaks", setup);

}  // namespace soak_command

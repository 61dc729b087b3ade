// `actorlm bench-kv-transfer`: KV transfer bandwidth between two processes over
// loopback (issue 14's goal: at least half a plain TCP copy of the same bytes). A
// forked child is the producer: a CPU KV cache of the given shape filled with
// seeded random bytes, every block offered under one transfer id per run, served by
// a kv_transfer_actor through CAF's middleman (the ticket; then the bytes over its
// direct stream, or with --transport actors in chunks through the middleman), plus a
// plain TCP socket that sends the same byte count. The parent is the consumer: it
// pulls every block through its own kv_transfer_actor (for chunks: chunk_bytes per
// request, max_inflight_chunks outstanding),
// checks every byte against the seed, and times that against receiving the plain
// TCP copy into a buffer; runs alternate. Prints one JSON line (medians, ranges).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "actors/kv_transfer_actor.hpp"
#include "actors/runtime_config.hpp"
#include "base/elapsed.hpp"
#include "bench/bench_summary.hpp"
#include "cli_values.hpp"
#include "command_registry.hpp"
#include "json_output.hpp"
#include "kv/kv_transfer_endpoint.hpp"
#include "model/kv_cache_storage.hpp"

namespace bench_kv_transfer_command {

using namespace actorlm;
using clock_type = std::chrono::steady_clock;

struct options {
    // rand-135m (SmolLM2-135M shapes): 30 layers, 3 KV heads of 64; 2048 tokens.
    int64_t layers = 30;
    int64_t kv_heads = 3;
    int64_t head_dim = 64;
    int32_t block_size = 16;
    int32_t tokens = 2048;
    int64_t chunk_bytes = int64_t{256} << 10;
    int32_t window = 4;
    uint16_t port = 18950;  // the TCP baseline uses port + 1
    int repeat = 5;
    std::string transport = "stream";
};

/// Block `b`'s payload (every layer) as both processes derive it from the seed.
void fill_payload(std::vector<uint8_t>& out, int32_t b) {
    std::mt19937_64 rng(0x5eed0000u + static_cast<uint64_t>(b));
    for (size_t i = 0; i + 8 <= out.size(); i += 8) {
        const uint64_t r = rng();
        std::memcpy(out.data() + i, &r, 8);
    }
}

core::block_hash hash_of(int32_t b) {
    return core::block_hash{0x1234u + static_cast<uint64_t>(b), 0x9876u};
}

result<kv_cache_storage> make_cache(const options& o) {
    kv_cache_spec spec;
    spec.num_blocks = o.tokens / o.block_size;
    spec.block_size = o.block_size;
    spec.type = dtype::f16;
    return kv_cache_storage::create(spec, o.layers, o.kv_heads, o.head_dim);
}

kv::kv_transfer_endpoint::options endpoint_options(const options& o, const kv_block_io& io) {
    kv::kv_transfer_endpoint::options e;
    e.block_layer_bytes = io.block_layer_bytes();
    e.num_layers = io.num_kv_layers();
    e.chunk_bytes = o.chunk_bytes;
    e.max_inflight_chunks = o.window;
    e.pull_timeout = std::chrono::milliseconds(30000);
    e.stream = o.transport == "stream";
    e.stream_host = "127.0.0.1";
    return e;
}

/// The producer: serves pulls and plain copies until killed.
[[noreturn]] void run_producer(const options& o, int ready_fd) {
    auto cache = make_cache(o);
    if (!cache) _exit(1);
    const int32_t blocks = cache->num_kv_blocks();
    const size_t lb = cache->block_layer_bytes();
    std::vector<uint8_t> payload(lb * static_cast<size_t>(o.layers));
    std::vector<char> plain;  // the same bytes, contiguous, for the TCP baseline
    for (int32_t b = 0; b < blocks; ++b) {
        fill_payload(payload, b);
        plain.insert(plain.end(), payload.begin(), payload.end());
        for (int64_t l = 0; l < o.layers; ++l)
            cache->write_block_layer(
                l, b, std::span<const uint8_t>(payload.data() + static_cast<size_t>(l) * lb, lb));
    }
    auto endpoint = std::make_shared<kv::kv_transfer_endpoint>(endpoint_options(o, *cache));
    if (!endpoint->attach(&*cache)) _exit(1);
    std::vector<int32_t> ids;
    std::vector<core::block_hash> hashes;
    for (int32_t b = 0; b < blocks; ++b) {
        ids.push_back(b);
        hashes.push_back(hash_of(b));
    }
    for (int r = 0; r <= o.repeat; ++r) endpoint->offer("t" + std::to_string(r), ids, hashes);
    actors::runtime_config cfg(std::chrono::milliseconds(200),
                               actors::k_kv_transfer_connection_timeout);
    caf::actor_system sys(cfg);
    auto transfer = actors::spawn_kv_transfer_actor(sys, endpoint);
    if (!sys.middleman().publish(transfer, o.port, "127.0.0.1", true)) _exit(1);
    const int srv = ::socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    ::setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(o.port + 1));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(srv, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(srv, 4) != 0)
        _exit(1);
    const char ok = 1;
    if (::write(ready_fd, &ok, 1) != 1) _exit(1);
    for (;;) {
        const int c = ::accept(srv, nullptr, nullptr);
        if (c < 0) continue;
        size_t sent = 0;
        while (sent < plain.size()) {
            const ssize_t n = ::send(c, plain.data() + sent, plain.size() - sent, 0);
            if (n <= 0) break;
            sent += static_cast<size_t>(n);
        }
        ::close(c);
    }
}

/// Receives the plain copy into `buf`; seconds, or -1.
double timed_tcp_copy(uint16_t port, std::vector<char>& buf) {
    const auto t0 = clock_type::now();
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(s);
        return -1;
    }
    size_t got = 0;
    while (got < buf.size()) {
        const ssize_t n = ::recv(s, buf.data() + got, buf.size() - got, 0);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    ::close(s);
    return got == buf.size() ? seconds_since(t0) : -1;
}

/// Pulls every block of transfer `id` into `cache`; seconds, or -1 if a block failed.
double timed_pull(const options& o, kv::kv_transfer_endpoint& endpoint, int32_t blocks,
                  const std::string& id) {
    kv::kv_transfer_endpoint::pull p;
    p.req_id = id;
    p.host = "127.0.0.1";
    p.port = o.port;
    p.remote_id = id;
    for (int32_t b = 0; b < blocks; ++b) {
        p.hashes.push_back(hash_of(b));
        p.block_ids.push_back(b);
    }
    const auto t0 = clock_type::now();
    endpoint.queue_pull(std::move(p));
    for (;;) {
        auto done = endpoint.take_finished_pulls();
        if (!done.empty()) return done.front().invalid_block_ids.empty() ? seconds_since(t0) : -1;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
}

int run_bench(const options& o) {
    if (o.tokens % o.block_size != 0) {
        std::fprintf(stderr, "bench-kv-transfer: --tokens must be a multiple of --block-size\n");
        return cli::k_usage_error;
    }
    int ready[2];
    if (::pipe(ready) != 0) return 1;
    const pid_t child = ::fork();
    if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::close(ready[0]);
        run_producer(o, ready[1]);
    }
    ::close(ready[1]);
    char ok = 0;
    const bool up = ::read(ready[0], &ok, 1) == 1;
    ::close(ready[0]);
    auto stop_child = [&] {
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
    };
    if (!up) {
        std::fprintf(stderr, "bench-kv-transfer: the producer did not start (port %u busy?)\n",
                     static_cast<unsigned>(o.port));
        stop_child();
        return 1;
    }
    auto cache = make_cache(o);
    if (!cache) {
        std::fprintf(stderr, "bench-kv-transfer: %s\n", cache.message().c_str());
        stop_child();
        return 1;
    }
    const int32_t blocks = cache->num_kv_blocks();
    const size_t lb = cache->block_layer_bytes();
    const size_t total = lb * static_cast<size_t>(o.layers) * static_cast<size_t>(blocks);
    auto endpoint = std::make_shared<kv::kv_transfer_endpoint>(endpoint_options(o, *cache));
    (void)endpoint->attach(&*cache);
    double first_pull = 0.0;
    std::vector<double> pull_s, tcp_s;
    bool verified = true;
    {
        actors::runtime_config cfg(std::chrono::milliseconds(200),
                                   actors::k_kv_transfer_connection_timeout);
        caf::actor_system sys(cfg);
        auto transfer = actors::spawn_kv_transfer_actor(sys, endpoint);
        std::vector<char> buf(total);
        first_pull = timed_pull(o, *endpoint, blocks, "t0");  // includes the connect
        for (int r = 1; r <= o.repeat && first_pull >= 0; ++r) {
            pull_s.push_back(timed_pull(o, *endpoint, blocks, "t" + std::to_string(r)));
            tcp_s.push_back(timed_tcp_copy(static_cast<uint16_t>(o.port + 1), buf));
        }
        // Every byte arrived as the producer wrote it.
        std::vector<uint8_t> want(lb * static_cast<size_t>(o.layers)), got(lb);
        for (int32_t b = 0; b < blocks && verified; ++b) {
            fill_payload(want, b);
            for (int64_t l = 0; l < o.layers && verified; ++l) {
                cache->read_block_layer(l, b, got);
                verified = std::memcmp(got.data(), want.data() + static_cast<size_t>(l) * lb,
                                       lb) == 0;
            }
        }
        caf::anon_send_exit(transfer, caf::exit_reason::user_shutdown);
    }
    stop_child();
    const bool failed = first_pull < 0 ||
                        std::any_of(pull_s.begin(), pull_s.end(), [](double s) { return s < 0; }) ||
                        std::any_of(tcp_s.begin(), tcp_s.end(), [](double s) { return s < 0; });
    if (failed || !verified) {
        std::fprintf(stderr, "bench-kv-transfer: %s\n",
                     failed ? "a pull or copy failed" : "pulled bytes differ from the producer's");
        return 1;
    }
    const double gb = static_cast<double>(total) / 1e9;
    const double pull = net::percentile(pull_s, 50.0), tcp = net::percentile(tcp_s, 50.0);
    net::json_writer w;
    w.begin_object();
    w.key("layers").value(o.layers).key("kv_heads").value(o.kv_heads);
    w.key("head_dim").value(o.head_dim).key("tokens").value(int64_t{o.tokens});
    w.key("bytes").value(static_cast<int64_t>(total));
    w.key("transport").value(o.transport);
    w.key("chunk_bytes").value(o.chunk_bytes).key("max_inflight_chunks").value(int64_t{o.window});
    w.key("first_pull_ms").value(cli::rounded(first_pull * 1e3, 2));
    w.key("pull_ms").value(cli::rounded(pull * 1e3, 2));
    w.key("pull_gb_per_s").value(cli::rounded(gb / pull, 3));
    w.key("pull_gb_per_s_min").value(
        cli::rounded(gb / *std::max_element(pull_s.begin(), pull_s.end()), 3));
    w.key("pull_gb_per_s_max").value(
        cli::rounded(gb / *std::min_element(pull_s.begin(), pull_s.end()), 3));
    w.key("tcp_gb_per_s").value(cli::rounded(gb / tcp, 3));
    w.key("pull_vs_tcp").value(cli::rounded(tcp / pull, 3));
    w.end_object();
    cli::print_json_line(w);
    return 0;
}

cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    actorlm::cli::add_kv_shape_options(app, o->layers, o->kv_heads, o->head_dim);
    app.add_option("--block-size", o->block_size, "tokens per block")
        ->check(CLI::IsMember({8, 16, 32, 64, 128}))
        ->capture_default_str();
    app.add_option("--tokens", o->tokens, "context whose KV moves")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--chunk-bytes", o->chunk_bytes, "payload bytes per pull request")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--window", o->window, "pull requests in flight")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    app.add_option("--port", o->port, "producer's port (the TCP baseline uses the next)")
        ->check(CLI::Range(1, 65534))
        ->capture_default_str();
    app.add_option("--transport", o->transport,
                   "stream: bytes over a direct TCP stream; actors: in chunks through CAF")
        ->check(CLI::IsMember({"stream", "actors"}))
        ->capture_default_str();
    app.add_option("--repeat", o->repeat, "timed runs of each (medians are printed)")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    return [o] { return run_bench(*o); };
}

cli::command_registration reg("bench-kv-transfer",
                              "KV pull bandwidth between two processes vs a plain TCP copy "
                              "(JSON)",
                              setup);

}  // namespace bench_kv_transfer_command

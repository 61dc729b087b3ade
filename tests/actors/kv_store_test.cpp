// The shared KV store (`actorlm kv-store`, "KVStoreConnector"): the store actor's
// own rules (LRU bounded in bytes, hash-chain lookups, sizes checked against what
// the client declared, stats, events to subscribers, the disk tier across a
// restart); the client over a store process (load/save bytes, /metrics); and two
// offline engines on stories260K sharing prefixes through one store with greedy
// tokens and logprobs identical to a run without a connector, tenants (cache salts)
// and models never sharing, and a store that hangs, dies and comes back.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "actors/kv_store_actor.hpp"
#include "actors/kv_store_client.hpp"
#include "actors/runtime_config.hpp"
#include "backends/cpu/cpu_executor.hpp"
#include "core/llm_engine.hpp"
#include "model/model_loader.hpp"
#include "support/shared_data.hpp"
#include "tokenizer/tokenizer.hpp"
#include "support/kv_offload_runs.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::actors;
namespace fs = std::filesystem;

namespace {

constexpr auto k_wait = std::chrono::seconds(5);

/// Ports of this test process (apart from worker_process's range).
uint16_t store_port(int offset) {
    return static_cast<uint16_t>(40000 + (getpid() % 2000) * 8 + offset);
}

fs::path store_test_dir(const std::string& name) { return test::fresh_temp_dir("kvs-" + name); }

core::block_hash hash_of(uint64_t n) { return core::block_hash{n * 7919 + 1, n}; }

std::vector<char> payload_of(uint64_t n, size_t bytes) {
    std::vector<char> p(bytes);
    for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<char>((n * 31 + i) & 0x7f);
    return p;
}

/// A store in this process, spoken to through a scoped actor.
struct local_store {
    explicit local_store(kv_store_options o) : sys(cfg) {
        auto s = spawn_kv_store(sys, o);
        REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.message()));
        store = *s;
    }
    ~local_store() { caf::anon_send_exit(store, caf::exit_reason::user_shutdown); }

    /// Result of a save: "" when stored, else the rendered error.
    std::string save(uint64_t n, int64_t declared, std::vector<char> bytes) {
        std::string out = "no answer";
        caf::scoped_actor self{sys};
        self->request(store, k_wait, kvs_save_atom_v, hash_of(n), declared, std::move(bytes))
            .receive([&](bool ok) { out = ok ? "" : "false"; },
                     [&](caf::error& e) { out = sys.render(e); });
        return out;
    }
    std::string save(uint64_t n, size_t bytes) {
        return save(n, static_cast<int64_t>(bytes), payload_of(n, bytes));
    }
    int32_t lookup(const std::vector<uint64_t>& ns) {
        std::vector<core::block_hash> hs;
        for (auto n : ns) hs.push_back(hash_of(n));
        int32_t out = -1;
        caf::scoped_actor self{sys};
        self->request(store, k_wait, kvs_lookup_atom_v, hs)
            .receive([&](int32_t k) { out = k; }, [](caf::error&) {});
        return out;
    }
    /// (bytes, count), count -1 on an error.
    std::pair<std::vector<char>, int32_t> load(const std::vector<uint64_t>& ns, int64_t bytes) {
        std::vector<core::block_hash> hs;
        for (auto n : ns) hs.push_back(hash_of(n));
        std::pair<std::vector<char>, int32_t> out{{}, -1};
        caf::scoped_actor self{sys};
        self->request(store, k_wait, kvs_load_atom_v, hs, bytes)
            .receive(
                [&](std::vector<char>& b, int32_t k) {
                    out = {std::move(b), k};
                },
                [](caf::error&) {});
        return out;
    }
    kv_store_stats stats() {
        kv_store_stats out;
        caf::scoped_actor self{sys};
        self->request(store, k_wait, stats_atom_v)
            .receive([&](kv_store_stats& s) { out = s; }, [](caf::error&) {});
        return out;
    }

    runtime_config cfg;
    caf::actor_system sys;
    kv_store_actor store;
};

std::vector<char> concat(const std::vector<uint64_t>& ns, size_t bytes) {
    std::vector<char> out;
    for (auto n : ns) {
        auto p = payload_of(n, bytes);
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

/// `actorlm kv-store` as a child process; it dies with the test.
class store_process {
public:
    explicit store_process(std::vector<std::string> args) : args_(std::move(args)) {}
    ~store_process() { kill_now(); }

    /// True once it printed "listening" (10 s at most); `out` gets what it printed.
    bool start(std::string* out = nullptr) {
        int fds[2];
        if (pipe(fds) != 0) return false;
        pid_ = fork();
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            close(fds[1]);
            std::string bin = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
            std::vector<char*> argv{bin.data(), const_cast<char*>("kv-store")};
            for (auto& a : args_) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(bin.c_str(), argv.data());
            _exit(127);
        }
        close(fds[1]);
        std::string seen;
        bool ok = false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!ok && std::chrono::steady_clock::now() < deadline) {
            pollfd p{fds[0], POLLIN, 0};
            if (poll(&p, 1, 100) <= 0) continue;
            char buf[256];
            const ssize_t n = read(fds[0], buf, sizeof(buf));
            if (n <= 0) break;
            seen.append(buf, static_cast<size_t>(n));
            ok = seen.find("listening") != std::string::npos;
        }
        // Kept open: a store printing into a closed pipe would die of SIGPIPE.
        out_fd_ = fds[0];
        if (out) *out = seen;
        return ok;
    }
    void signal(int sig) {
        if (pid_ > 0) ::kill(pid_, sig);
    }
    void kill_now() {
        if (out_fd_ >= 0) close(out_fd_);
        out_fd_ = -1;
        if (pid_ <= 0) return;
        ::kill(pid_, SIGCONT);
        ::kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    /// SIGTERM, then the exit status (-1 if it did not exit within 10 s).
    int terminate() {
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 100; ++i) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return -1;
    }

private:
    std::vector<std::string> args_;
    pid_t pid_ = -1;
    int out_fd_ = -1;
};

/// A plain HTTP GET on loopback; the whole response.
std::string http_get(uint16_t port, const std::string& path) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    std::string out;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
        const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        (void)!write(fd, req.data(), req.size());
        char buf[4096];
        for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) out.append(buf, size_t(n));
    }
    close(fd);
    return out;
}

/// kv_block_io over plain memory: `blocks` blocks of `layers` x `layer_bytes`.
class memory_io final : public kv_block_io {
public:
    memory_io(int64_t layers, int32_t blocks, size_t layer_bytes)
        : layers_(layers),
          blocks_(blocks),
          lb_(layer_bytes),
          data_(static_cast<size_t>(layers) * static_cast<size_t>(blocks) * layer_bytes) {}
    int64_t num_kv_layers() const override { return layers_; }
    int32_t num_kv_blocks() const override { return blocks_; }
    size_t block_layer_bytes() const override { return lb_; }
    void read_block_layer(int64_t l, int32_t b, std::span<uint8_t> dst) const override {
        std::memcpy(dst.data(), at(l, b), lb_);
    }
    void write_block_layer(int64_t l, int32_t b, std::span<const uint8_t> src) override {
        std::memcpy(at(l, b), src.data(), lb_);
    }
    /// One block's bytes, layer after layer (the connector's payload order).
    std::vector<uint8_t> block(int32_t b) const {
        std::vector<uint8_t> out;
        for (int64_t l = 0; l < layers_; ++l) out.insert(out.end(), at(l, b), at(l, b) + lb_);
        return out;
    }

private:
    uint8_t* at(int64_t l, int32_t b) const {
        return const_cast<uint8_t*>(data_.data()) +
               (static_cast<size_t>(l) * static_cast<size_t>(blocks_) + static_cast<size_t>(b)) *
                   lb_;
    }
    int64_t layers_;
    int32_t blocks_;
    size_t lb_;
    std::vector<uint8_t> data_;
};

}  // namespace

TEST_CASE("kv_store: memory LRU bounded in bytes, hash-chain lookup, loads and stats") {
    kv_store_options o;
    o.memory_bytes = 300;
    local_store s(o);
    for (uint64_t n = 1; n <= 3; ++n) CHECK(s.save(n, 100) == "");
    CHECK(s.lookup({1, 2, 3}) == 3);
    CHECK(s.lookup({1, 9, 3}) == 1);  // a chain stops at its first missing block
    auto [bytes, count] = s.load({1, 2, 3, 9}, 100);
    CHECK(count == 3);
    CHECK(bytes == concat({1, 2, 3}, 100));
    CHECK(s.load({1}, 100).second == 1);  // 1 is now the most recently used
    CHECK(s.save(4, 100) == "");          // evicts 2, the least recently used
    CHECK(s.lookup({1, 2}) == 1);
    CHECK(s.lookup({3, 4, 1}) == 3);
    CHECK(s.save(3, 100) == "");  // already held: kept once
    const auto st = s.stats();
    CHECK(st.memory_bytes == 300);
    CHECK(st.memory_blocks == 3);
    CHECK(st.memory_capacity_bytes == 300);
    CHECK(st.evictions == 1);
    CHECK(st.saves == 4);
    CHECK(st.loads == 2);
    CHECK(st.hits == 4);
    CHECK(st.misses == 1);
    CHECK(st.lookups == 4);
    CHECK(st.bytes_loaded == 400);
}

TEST_CASE("kv_store: bad sizes are refused with errors and never exceed the capacity") {
    kv_store_options o;
    o.memory_bytes = 250;
    local_store s(o);
    CHECK(s.save(1, 100, payload_of(1, 99)).find("bad_size") != std::string::npos);
    CHECK(s.save(2, 0, {}).find("bad_size") != std::string::npos);
    CHECK(s.save(3, -5, payload_of(3, 10)).find("bad_size") != std::string::npos);
    CHECK(s.save(4, 1000, payload_of(4, 1000)).find("too_large") != std::string::npos);
    CHECK(s.load({1}, 0).second == -1);                              // no payload size: an error
    CHECK(s.load(std::vector<uint64_t>(70000, 1), 8).second == -1);  // too many blocks
    CHECK(s.save(5, 100) == "");
    CHECK(s.load({5}, 50).second == 0);  // asked with another size: a miss, never 50 bytes
    for (uint64_t n = 10; n < 30; ++n) {
        CHECK(s.save(n, 100 + n % 3) == "");
        CHECK(s.stats().memory_bytes <= 250);
    }
    const auto st = s.stats();
    CHECK(st.rejected == 6);
    CHECK(st.memory_blocks == 2);
    CHECK(s.lookup({1}) == 0);
}

TEST_CASE("kv_store: subscribers get a snapshot, then stored and removed events") {
    kv_store_options o;
    o.memory_bytes = 200;
    local_store s(o);
    CHECK(s.save(1, 100) == "");
    CHECK(s.save(2, 50) == "");  // another block size: not this subscriber's
    caf::scoped_actor sub{s.sys};
    std::vector<core::block_hash> held;
    sub->request(s.store, k_wait, kvs_subscribe_atom_v, int64_t{100})
        .receive([&](std::vector<core::block_hash>& h) { held = h; }, [](caf::error&) {});
    CHECK(held == std::vector<core::block_hash>{hash_of(1)});
    CHECK(s.stats().subscribers == 1);
    CHECK(s.save(3, 100) == "");  // 250 > 200: evicts 1 (the oldest)
    kv_store_event ev;
    sub->receive([&](kvs_event_atom, kv_store_event& e) { ev = e; },
                 caf::after(k_wait) >> [] { FAIL("no event"); });
    CHECK(ev.payload_bytes == 100);
    CHECK(ev.stored == std::vector<core::block_hash>{hash_of(3)});
    CHECK(ev.removed == std::vector<core::block_hash>{hash_of(1)});
}

TEST_CASE("kv_store: evicted blocks move to the disk tier, which survives a restart") {
    const fs::path dir = store_test_dir("disk");
    kv_store_options o;
    o.memory_bytes = 200;
    o.disk_dir = dir.string();
    o.disk_bytes = 1 << 20;
    {
        local_store s(o);
        for (uint64_t n = 1; n <= 4; ++n) CHECK(s.save(n, 100) == "");
        // 1 and 2 were demoted: written on the disk tier's thread.
        for (int i = 0; i < 100 && s.lookup({1, 2, 3, 4}) < 4; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        CHECK(s.lookup({1, 2, 3, 4}) == 4);
        auto [bytes, count] = s.load({1, 2, 3, 4}, 100);
        CHECK(count == 4);
        CHECK(bytes == concat({1, 2, 3, 4}, 100));
        const auto st = s.stats();
        CHECK(st.memory_blocks == 2);
        CHECK(st.disk_blocks == 2);
    }
    CHECK(fs::exists(dir / "bytes-100"));
    local_store again(o);  // a restarted store holds what its disk tier held
    CHECK(again.lookup({1, 2}) == 2);
    auto [bytes, count] = again.load({1, 2, 3}, 100);
    CHECK(count == 2);
    CHECK(bytes == concat({1, 2}, 100));
    fs::remove_all(dir);
}

TEST_CASE("kv_store: `actorlm kv-store` answers a client and serves /metrics") {
    const uint16_t port = store_port(0);
    const uint16_t metrics = store_port(1);
    store_process proc({"--listen", "127.0.0.1:" + std::to_string(port), "--memory", "1MiB",
                        "--metrics-port", std::to_string(metrics), "--stats-interval", "0"});
    std::string printed;
    REQUIRE(proc.start(&printed));
    CHECK(printed.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);

    kv_store_client_options o;
    o.host = "127.0.0.1";
    o.port = port;
    o.layer_bytes = 64;
    o.num_layers = 3;
    o.timeout = std::chrono::milliseconds(2000);
    o.max_inflight_bytes = 2 * 192;  // two blocks in flight at most
    kv_store_client client(o);
    REQUIRE(client.wait_connected(std::chrono::seconds(5)));

    memory_io io(3, 8, 64);
    for (int32_t b = 0; b < 4; ++b) {
        std::vector<uint8_t> bytes(64);
        for (int64_t l = 0; l < 3; ++l) {
            for (size_t i = 0; i < 64; ++i) bytes[i] = static_cast<uint8_t>(b * 50 + l * 7 + i);
            io.write_block_layer(l, b, bytes);
        }
    }
    CHECK(client.reserve_save(hash_of(1)));
    CHECK(client.reserve_save(hash_of(2)));
    CHECK_FALSE(client.reserve_save(hash_of(2)));  // pending already
    CHECK_FALSE(client.reserve_save(hash_of(3)));  // over the in-flight bound: skipped
    client.save_async(hash_of(1), io.block(0));
    client.save_async(hash_of(2), io.block(1));
    client.flush();
    auto st = client.stats();
    CHECK(st.blocks_saved == 2);
    CHECK(st.saves_skipped == 1);
    CHECK(client.contains(hash_of(1)));
    CHECK(client.contains(hash_of(2)));
    CHECK_FALSE(client.contains(hash_of(3)));

    // Loads write into the blocks asked for; a block the store lacks and all after it
    // are invalid.
    client.load_async("r1", {{hash_of(1), 5}, {hash_of(2), 6}}, &io);
    client.load_async("r2", {{hash_of(2), 7}, {hash_of(9), 4}, {hash_of(1), 3}}, &io);
    client.flush();
    auto done = client.take_finished_loads();
    REQUIRE(done.size() == 2);
    std::sort(done.begin(), done.end(), [](auto& a, auto& b) { return a.req_id < b.req_id; });
    CHECK(done[0].invalid_block_ids.empty());
    CHECK(done[1].invalid_block_ids == std::vector<int32_t>{4, 3});
    CHECK(io.block(5) == io.block(0));
    CHECK(io.block(6) == io.block(1));
    CHECK(io.block(7) == io.block(1));
    CHECK(client.stats().load_errors == 2);

    const std::string page = http_get(metrics, "/metrics");
    CHECK(page.find("200 OK") != std::string::npos);
    CHECK(page.find("actorlm:kv_store_saves_total 2") != std::string::npos);
    CHECK(page.find("actorlm:kv_store_subscribers 1") != std::string::npos);
    CHECK(http_get(metrics, "/other").find("404") != std::string::npos);
    CHECK(proc.terminate() == 0);  // SIGTERM: a clean exit
}

// ---- engines sharing prefixes through one store (stories260K) ----

namespace {

std::string store_config(uint16_t port, int timeout_ms = 2000) {
    return R"({"kv_connector":"KVStoreConnector","kv_role":"kv_both",)"
           R"("kv_connector_extra_config":{"store_address":"127.0.0.1:)" +
           std::to_string(port) + R"(","timeout_ms":)" + std::to_string(timeout_ms) + "}}";
}

/// The shared stories260K config (F32 KV, `num_blocks` blocks of pool), with the
/// store's connector registered.
actorlm::engine_config make_config(int32_t num_blocks, const std::string& kv_transfer = {}) {
    register_kv_store_connector();
    return test::offload_engine_config("f32", num_blocks, kv_transfer);
}

/// Round 0 asks every document of the shared prompts its first question, round 1 its second.
std::vector<std::vector<int32_t>> make_round(int round) {
    const auto all = test::offload_prompts();
    return {all.begin() + 4 * round, all.begin() + 4 * round + 4};
}

/// A store published on loopback in this process.
struct published_store {
    explicit published_store(uint16_t p, int64_t memory = 64 << 20)
        : local([&] {
              kv_store_options o;
              o.memory_bytes = memory;
              return o;
          }()) {
        auto bound = local.sys.middleman().publish(local.store, p, "127.0.0.1", true);
        REQUIRE_MESSAGE(bound, local.sys.render(bound.error()));
        port = *bound;
    }
    local_store local;
    uint16_t port = 0;
};

}  // namespace

TEST_CASE("kv_store: a second engine loads the first one's prefixes with identical outputs") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const auto first = make_round(0);
    const auto second = make_round(1);
    auto base_eng = test::make_offload_engine(make_config(128));
    test::run_offload_prompts(*base_eng, first);
    const auto base = test::run_offload_prompts(*base_eng, second);

    published_store store(store_port(2));
    {
        auto a = test::make_offload_engine(make_config(64, store_config(store.port)));
        test::run_offload_prompts(*a, first);
        CHECK(test::settled_offload_stats(*a).kv_connector_blocks_saved_total >= 4 * 6);
    }
    CHECK(store.local.stats().saves >= 4 * 6);
    // B never saw the documents: its first request for each loads the prefix.
    auto b = test::make_offload_engine(make_config(64, store_config(store.port)));
    const auto got = test::run_offload_prompts(*b, second);
    REQUIRE(got.size() == base.size());
    for (size_t i = 0; i < got.size(); ++i) {
        INFO("prompt " << i);
        CHECK(got[i].tokens == base[i].tokens);
        CHECK(got[i].logprobs == base[i].logprobs);  // bit-identical
    }
    const auto st = b->stats();
    MESSAGE("B: external hits " << st.external_prefix_cache_hits_total << " tokens, loaded "
                                << st.kv_connector_blocks_loaded_total << " blocks");
    CHECK(st.external_prefix_cache_hits_total >= 4 * 6 * 16);
    CHECK(st.kv_connector_blocks_loaded_total >= 4 * 6);
    CHECK(st.kv_connector_bytes_loaded_total == st.kv_connector_blocks_loaded_total * 20480);
    CHECK(st.kv_connector_load_errors_total == 0);
    CHECK(store.local.stats().hits >= 4 * 6);
}

TEST_CASE("kv_store: tenants (cache salts) and models never share a block") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const auto first = make_round(0);
    const auto second = make_round(1);
    published_store store(store_port(3));
    {
        auto a = test::make_offload_engine(make_config(64, store_config(store.port)));
        test::run_offload_prompts(*a, first, "tenant-a");
        test::settled_offload_stats(*a);
    }
    {
        auto b = test::make_offload_engine(make_config(64, store_config(store.port)));
        test::run_offload_prompts(*b, second, "tenant-b");
        const auto st = b->stats();
        CHECK(st.external_prefix_cache_hits_total == 0);  // another tenant's documents
        CHECK(st.kv_connector_blocks_loaded_total == 0);
    }
    {
        auto a2 = test::make_offload_engine(make_config(64, store_config(store.port)));
        test::run_offload_prompts(*a2, second, "tenant-a");
        CHECK(a2->stats().external_prefix_cache_hits_total >= 4 * 6 * 16);  // its own
    }

    // Same shape, same store, two weight fingerprints (two fine-tunes of one base).
    register_kv_store_connector();
    auto run = [&](const std::string& fingerprint, const std::vector<std::vector<int32_t>>& ps) {
        return test::run_as_model(fingerprint, store_config(store.port), ps);
    };
    CHECK(run("model-a", first).kv_connector_blocks_saved_total >= 24);
    const auto b = run("model-b", second);
    CHECK(b.external_prefix_cache_hits_total == 0);
    CHECK(b.kv_connector_blocks_loaded_total == 0);
    CHECK(run("model-a", second).external_prefix_cache_hits_total == 4 * 96);
}

TEST_CASE("kv_store: a store that hangs or dies means recompute, the client reconnects") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const auto first = make_round(0);
    const auto second = make_round(1);
    auto base_eng = test::make_offload_engine(make_config(128));
    const auto base_first = test::run_offload_prompts(*base_eng, first);
    const auto base_second = test::run_offload_prompts(*base_eng, second);

    const uint16_t port = store_port(4);
    const std::vector<std::string> args{"--listen",         "127.0.0.1:" + std::to_string(port),
                                        "--memory",         "64MiB",
                                        "--stats-interval", "0"};
    auto proc = std::make_unique<store_process>(args);
    REQUIRE(proc->start());
    // 12 blocks hold one prompt: every earlier document must come from the store.
    auto eng = test::make_offload_engine(make_config(12, store_config(port, 500)));
    CHECK(test::run_offload_prompts(*eng, first) == base_first);
    const auto saved = test::settled_offload_stats(*eng);
    CHECK(saved.kv_connector_blocks_saved_total >= 4 * 6);
    CHECK(saved.kv_connector_blocks_stored >= 4 * 6);  // the mirror

    auto wait_mirror = [&](bool filled) {
        for (int i = 0; i < 100; ++i) {
            if ((eng->stats().kv_connector_blocks_stored > 0) == filled) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    };

    SUBCASE("hung (SIGSTOP), then back (SIGCONT)") {
        proc->signal(SIGSTOP);
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(test::run_offload_prompts(*eng, second) ==
              base_second);  // loads time out: recomputed
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        MESSAGE("four requests with a hung store: " << secs << " s");
        CHECK(secs < 15.0);
        CHECK(eng->stats().kv_connector_load_errors_total > 0);
        proc->signal(SIGCONT);
        // The same store again: the mirror is rebuilt from its subscription.
        CHECK(wait_mirror(true));
        const auto before = eng->stats().kv_connector_blocks_loaded_total;
        CHECK(test::run_offload_prompts(*eng, first) == base_first);
        CHECK(eng->stats().kv_connector_blocks_loaded_total > before);
    }
    SUBCASE("killed, then restarted empty") {
        proc->kill_now();
        CHECK(wait_mirror(false));  // lookups miss at once
        const auto t0 = std::chrono::steady_clock::now();
        CHECK(test::run_offload_prompts(*eng, second) == base_second);
        CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 15.0);
        proc = std::make_unique<store_process>(args);
        REQUIRE(proc->start());
        // Reconnected: new saves reach the new store and fill the mirror again. Saves
        // offered before the reconnect landed are dropped, so a prompt may have reached
        // the store only in part (say its decode block without its prompt blocks); the
        // 12-block pool evicts each document before it comes round again, so cycling the
        // four recomputes and saves what is missing until every block of `first` is there.
        const int64_t all_blocks = 4 * 7;  // 104 prompt + 11 computed output tokens each
        bool refilled = false;
        for (int i = 0; i < 24 && !refilled; ++i) {
            test::run_offload_prompts(*eng, {first[static_cast<size_t>(i % 4)]});
            refilled = test::settled_offload_stats(*eng).kv_connector_blocks_stored >= all_blocks;
        }
        CHECK(refilled);
        auto fresh = test::make_offload_engine(make_config(64, store_config(port, 500)));
        test::run_offload_prompts(*fresh, first);
        CHECK(fresh->stats().external_prefix_cache_hits_total >= 4 * 6 * 16);
    }
}

// kv_store_client implementation. The public methods touch only `shared` (one
// mutex); all network work runs in one scheduled actor of the client's own actor
// system, which owns the store handle, the in-flight requests and the reconnect
// loop. A load's bytes are written into the cache by that actor, and never after the
// load was reported finished (a late reply is dropped), since the scheduler may
// give those blocks to another request as soon as it hears.
#include "actors/kv_store_client.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <span>
#include <unordered_set>

#include "actors/kv_store_actor.hpp"
#include "actors/node_tls.hpp"
#include "actors/runtime_config.hpp"
#include "base/host_port.hpp"
#include "kv/kv_connector_registry.hpp"
#include "kv/offloading_connector.hpp"

namespace actorlm::actors {
namespace {

constexpr size_t k_max_events = 4096;

/// What the client's callers and its actor share.
struct client_shared {
    mutable std::mutex mu;
    mutable std::condition_variable cv;  // connected, a save or load finished
    bool connected = false;
    std::unordered_set<core::block_hash, core::block_hash_hasher> mirror;
    std::unordered_set<core::block_hash, core::block_hash_hasher> pending_saves;
    int64_t inflight_bytes = 0;
    int64_t loads_in_flight = 0;
    std::vector<kv::kv_block_store::load_result> finished_loads;
    std::vector<kv::kv_event> events;
    kv::kv_connector_stats stats;
};

struct load_job {
    std::string req_id;
    std::vector<kv::kv_block_store::load_block> blocks;
    kv_block_io* io = nullptr;
};

struct save_job {
    core::block_hash hash;
    std::vector<char> bytes;
};

}  // namespace
}  // namespace actorlm::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::load_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::save_job)

namespace actorlm::actors {
namespace {

/// One load split into requests of at most max_message_bytes.
struct load_state {
    load_job job;
    size_t chunk = 1;            // blocks per request
    std::vector<int32_t> found;  // per request: blocks written, -1 while waiting
    size_t remaining = 0;
    bool done = false;
};

struct client_state {
    client_state() = default;  // not an aggregate: CAF probes State(self)
    std::shared_ptr<client_shared> shared;
    kv_store_client_options opts;
    kv_store_actor store;
    uint64_t generation = 0;  // bumped when the store is lost: late replies are stale
    bool retry_scheduled = false;
    bool ever_connected = false;
    bool warned = false;
    uint64_t next_id = 0;
    std::map<uint64_t, std::shared_ptr<load_state>> loads;
    std::map<uint64_t, core::block_hash> saves;
    static inline const char* name = "actorlm.kv_store_client";

    int64_t payload() const { return static_cast<int64_t>(opts.layer_bytes) * opts.num_layers; }
};

using client_pointer = caf::stateful_actor<client_state>*;

void schedule_retry(client_pointer self) {
    auto& st = self->state;
    if (st.retry_scheduled) return;
    st.retry_scheduled = true;
    self->delayed_send(self, st.opts.retry_interval, caf::tick_atom_v);
}

/// Reports a load: its leading fully loaded blocks are valid, the rest recomputed.
void finish_load(client_pointer self, uint64_t id) {
    auto& st = self->state;
    auto it = st.loads.find(id);
    if (it == st.loads.end()) return;
    load_state& ls = *it->second;
    ls.done = true;
    const size_t total = ls.job.blocks.size();
    size_t valid = 0;
    for (size_t i = 0; i < ls.found.size(); ++i) {
        const size_t len = std::min(ls.chunk, total - i * ls.chunk);
        const size_t got = static_cast<size_t>(std::max(ls.found[i], 0));
        valid += got;
        if (got < len) break;
    }
    kv::kv_block_store::load_result r;
    r.req_id = std::move(ls.job.req_id);
    for (size_t i = valid; i < total; ++i) r.invalid_block_ids.push_back(ls.job.blocks[i].block_id);
    auto& sh = *st.shared;
    {
        std::lock_guard lock(sh.mu);
        sh.stats.blocks_loaded += static_cast<int64_t>(valid);
        sh.stats.bytes_loaded += static_cast<int64_t>(valid) * st.payload();
        sh.stats.load_errors += static_cast<int64_t>(total - valid);
        sh.finished_loads.push_back(std::move(r));
        sh.loads_in_flight -= 1;
    }
    sh.cv.notify_all();
    st.loads.erase(it);
}

/// A save answered (or abandoned): its bytes leave the in-flight bound.
void finish_save(client_pointer self, uint64_t id, bool ok) {
    auto& st = self->state;
    auto it = st.saves.find(id);
    if (it == st.saves.end()) return;
    const core::block_hash h = it->second;
    st.saves.erase(it);
    auto& sh = *st.shared;
    {
        std::lock_guard lock(sh.mu);
        if (sh.pending_saves.erase(h)) sh.inflight_bytes -= st.payload();
        if (ok) {
            sh.stats.blocks_saved += 1;
            sh.stats.bytes_saved += st.payload();
            if (sh.connected) sh.mirror.insert(h);
        } else {
            sh.stats.save_errors += 1;
        }
    }
    sh.cv.notify_all();
}

/// The store died, hung or refused us: lookups miss from now on, in-flight work
/// fails, and reconnecting starts.
void lose_store(client_pointer self, const std::string& why) {
    auto& st = self->state;
    if (st.store) self->demonitor(st.store.address());
    st.store = nullptr;
    ++st.generation;
    {
        std::lock_guard lock(st.shared->mu);
        st.shared->connected = false;
        st.shared->mirror.clear();
    }
    std::vector<uint64_t> ids;
    for (const auto& [id, _] : st.loads) ids.push_back(id);
    for (uint64_t id : ids) finish_load(self, id);
    ids.clear();
    for (const auto& [id, _] : st.saves) ids.push_back(id);
    for (uint64_t id : ids) finish_save(self, id, false);
    if (!st.warned) {
        std::fprintf(stderr,
                     "actorlm: warning: KV store %s:%u: %s; requests recompute until it is "
                     "back\n",
                     st.opts.host.c_str(), static_cast<unsigned>(st.opts.port), why.c_str());
        st.warned = true;
    }
    schedule_retry(self);
}

void connect(client_pointer self) {
    auto& st = self->state;
    st.retry_scheduled = false;
    if (st.store) return;
    const uint64_t gen = st.generation;
    auto mm = node_connector(self->system());
    // The middleman's asynchronous connect (as connector_actor does): never blocks.
    self->request(mm, st.opts.timeout, caf::connect_atom::value, st.opts.host, st.opts.port)
        .then(
            [self, gen](const caf::node_id&, caf::strong_actor_ptr& ptr,
                        const std::set<std::string>& ifs) {
                auto& s = self->state;
                if (gen != s.generation || s.store) return;
                if (!ptr || !self->system().assignable<kv_store_actor>(ifs)) {
                    if (!s.warned)
                        std::fprintf(stderr, "actorlm: warning: %s:%u is not an actorlm kv-store\n",
                                     s.opts.host.c_str(), static_cast<unsigned>(s.opts.port));
                    s.warned = true;
                    return schedule_retry(self);
                }
                auto store = caf::actor_cast<kv_store_actor>(std::move(ptr));
                self->request(store, s.opts.timeout, kvs_subscribe_atom_v, s.payload())
                    .then(
                        [self, gen, store](std::vector<core::block_hash>& held) {
                            auto& s2 = self->state;
                            if (gen != s2.generation || s2.store) return;
                            s2.store = store;
                            self->monitor(store);
                            {
                                std::lock_guard lock(s2.shared->mu);
                                s2.shared->mirror.clear();
                                s2.shared->mirror.insert(held.begin(), held.end());
                                s2.shared->connected = true;
                            }
                            s2.shared->cv.notify_all();
                            if (s2.warned)
                                std::fprintf(stderr, "actorlm: KV store %s:%u is back\n",
                                             s2.opts.host.c_str(),
                                             static_cast<unsigned>(s2.opts.port));
                            s2.warned = false;
                            s2.ever_connected = true;
                        },
                        [self](caf::error&) { schedule_retry(self); });
            },
            [self](caf::error&) { schedule_retry(self); });
}

void start_load(client_pointer self, load_job& job) {
    auto& st = self->state;
    const uint64_t id = st.next_id++;
    auto ls = std::make_shared<load_state>();
    ls->job = std::move(job);
    const int64_t payload = st.payload();
    ls->chunk = static_cast<size_t>(std::max<int64_t>(1, st.opts.max_message_bytes / payload));
    const size_t total = ls->job.blocks.size();
    const size_t num_chunks = (total + ls->chunk - 1) / ls->chunk;
    ls->found.assign(num_chunks, -1);
    ls->remaining = num_chunks;
    st.loads[id] = ls;
    if (!st.store || num_chunks == 0) return finish_load(self, id);
    const uint64_t gen = st.generation;
    for (size_t c = 0; c < num_chunks; ++c) {
        const size_t first = c * ls->chunk;
        const size_t len = std::min(ls->chunk, total - first);
        std::vector<core::block_hash> hashes;
        for (size_t i = first; i < first + len; ++i) hashes.push_back(ls->job.blocks[i].hash);
        self->request(st.store, st.opts.timeout, kvs_load_atom_v, std::move(hashes), payload)
            .then(
                [self, id, ls, c, first, len, payload](const std::vector<char>& bytes, int32_t n) {
                    if (ls->done) return;  // already reported: never touch those blocks
                    auto& s = self->state;
                    // Never trust the store either: a reply of the wrong size is a miss.
                    if (n < 0 || static_cast<size_t>(n) > len ||
                        bytes.size() != static_cast<size_t>(n) * static_cast<size_t>(payload))
                        n = 0;
                    const size_t lb = s.opts.layer_bytes;
                    for (int32_t b = 0; b < n; ++b) {
                        const auto& blk = ls->job.blocks[first + static_cast<size_t>(b)];
                        const auto* src = reinterpret_cast<const uint8_t*>(bytes.data()) +
                                          static_cast<size_t>(b) * static_cast<size_t>(payload);
                        for (int64_t l = 0; l < s.opts.num_layers; ++l)
                            ls->job.io->write_block_layer(
                                l, blk.block_id,
                                std::span<const uint8_t>(src + static_cast<size_t>(l) * lb, lb));
                    }
                    if (static_cast<size_t>(n) < len) {
                        // The store no longer holds it: stop offering it to the scheduler.
                        std::lock_guard lock(s.shared->mu);
                        s.shared->mirror.erase(ls->job.blocks[first + static_cast<size_t>(n)].hash);
                    }
                    ls->found[c] = n;
                    if (--ls->remaining == 0) finish_load(self, id);
                },
                [self, id, ls, c, gen](caf::error& err) {
                    if (ls->done) return;
                    ls->found[c] = 0;
                    if (err == caf::sec::request_timeout && gen == self->state.generation)
                        return lose_store(self, "a load timed out");
                    if (--ls->remaining == 0) finish_load(self, id);
                });
    }
}

void start_save(client_pointer self, save_job& job) {
    auto& st = self->state;
    const uint64_t id = st.next_id++;
    st.saves[id] = job.hash;
    if (!st.store) return finish_save(self, id, false);
    const uint64_t gen = st.generation;
    const auto declared = static_cast<int64_t>(job.bytes.size());
    self->request(st.store, st.opts.timeout, kvs_save_atom_v, job.hash, declared,
                  std::move(job.bytes))
        .then([self, id](bool ok) { finish_save(self, id, ok); },
              [self, id, gen](caf::error& err) {
                  finish_save(self, id, false);
                  if (err == caf::sec::request_timeout && gen == self->state.generation)
                      lose_store(self, "a save timed out");
              });
}

caf::behavior client_impl(client_pointer self, std::shared_ptr<client_shared> shared,
                          kv_store_client_options opts) {
    self->state.shared = std::move(shared);
    self->state.opts = std::move(opts);
    self->set_down_handler([self](caf::down_msg& m) {
        if (self->state.store && m.source == self->state.store.address())
            lose_store(self, "the connection was lost");
    });
    connect(self);
    return {
        [self](caf::tick_atom) { connect(self); },
        [self](load_job& job) { start_load(self, job); },
        [self](save_job& job) { start_save(self, job); },
        [self](kvs_event_atom, const kv_store_event& ev) {
            auto& st = self->state;
            if (!st.store || ev.payload_bytes != st.payload()) return;
            auto& sh = *st.shared;
            std::lock_guard lock(sh.mu);
            sh.mirror.insert(ev.stored.begin(), ev.stored.end());
            for (const auto& h : ev.removed) sh.mirror.erase(h);
            if (!ev.stored.empty() && sh.events.size() < k_max_events)
                sh.events.push_back({kv::kv_event::kind::block_stored, ev.stored, "kv_store"});
            if (!ev.removed.empty() && sh.events.size() < k_max_events)
                sh.events.push_back({kv::kv_event::kind::block_removed, ev.removed, "kv_store"});
        },
    };
}

/// A small actor system per client: two scheduler threads are plenty for one actor.
class client_config : public runtime_config {
public:
    client_config()
        : runtime_config(std::chrono::milliseconds(200), k_kv_transfer_connection_timeout) {
        set("scheduler.max-threads", 2);
    }
};

result<int64_t> positive_integer(const std::string& key, const std::string& text) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v <= 0)
        return make_error("kv_transfer_config: '%s' must be a positive integer, got '%s'",
                          key.c_str(), text.c_str());
    return v;
}

result<kv::kv_connector_pair> make_kv_store_connector(const kv::kv_transfer_config& cfg,
                                                      const kv::kv_connector_context& ctx) {
    kv_store_client_options o;
    auto addr = cfg.extra.find("store_address");
    if (addr == cfg.extra.end() || addr->second.empty())
        return make_error(
            "kv_transfer_config: KVStoreConnector needs kv_connector_extra_config key "
            "'store_address' (HOST:PORT of an `actorlm kv-store`)");
    auto hp = parse_host_port(addr->second);
    if (!hp) return make_error("kv_transfer_config: 'store_address' %s", hp.message().c_str());
    o.host = hp->host;
    o.port = hp->port;
    if (auto t = cfg.extra.find("timeout_ms"); t != cfg.extra.end()) {
        auto ms = positive_integer("timeout_ms", t->second);
        if (!ms) return ms.err();
        o.timeout = std::chrono::milliseconds(*ms);
    }
    if (auto b = cfg.extra.find("max_inflight_bytes"); b != cfg.extra.end()) {
        auto n = kv::parse_byte_size("max_inflight_bytes", b->second);
        if (!n) return n.err();
        if (*n <= 0) return make_error("kv_transfer_config: 'max_inflight_bytes' must be positive");
        o.max_inflight_bytes = *n;
    }
    // TLS: all three keys or none (check_tls_config names what is missing or wrong).
    for (auto [key, field] : {std::pair{"tls_cert", &o.tls.cert_file},
                              std::pair{"tls_key", &o.tls.key_file},
                              std::pair{"tls_ca", &o.tls.ca_file}})
        if (auto v = cfg.extra.find(key); v != cfg.extra.end()) *field = v->second;
    if (auto err = check_tls_config(o.tls); !err.empty())
        return make_error("kv_transfer_config: KVStoreConnector tls_cert/tls_key/tls_ca: %s",
                          err.c_str());
    o.layer_bytes = ctx.block_layer_bytes;
    o.num_layers = ctx.num_layers;
    auto client = std::make_shared<kv_store_client>(o);
    // The first requests should see what the store holds; a store that is down only
    // means recompute until it is up (the client keeps trying).
    if (!client->wait_connected(o.timeout))
        std::fprintf(stderr,
                     "actorlm: warning: KV store %s is not reachable yet; requests recompute "
                     "until it is\n",
                     addr->second.c_str());
    return kv::make_offloading_connector_over(std::move(client), cfg, ctx.block_size);
}

}  // namespace

struct kv_store_client::impl {
    kv_store_client_options opts;
    std::shared_ptr<client_shared> shared = std::make_shared<client_shared>();
    client_config cfg;
    std::unique_ptr<caf::actor_system> sys;
    caf::actor actor;

    int64_t payload() const { return static_cast<int64_t>(opts.layer_bytes) * opts.num_layers; }
};

kv_store_client::kv_store_client(const kv_store_client_options& opts)
    : impl_(std::make_unique<impl>()) {
    impl_->opts = opts;
    // Never fall back to plaintext when TLS was asked for: without a usable TLS setup
    // the client stays disconnected (the connector then recomputes every block).
    const std::string tls_error = configure_node_tls(impl_->cfg, opts.tls);
    impl_->sys = std::make_unique<caf::actor_system>(impl_->cfg);
    if (!tls_error.empty()) {
        std::fprintf(stderr, "actorlm: warning: KV store %s:%u: %s; not connecting\n",
                     opts.host.c_str(), static_cast<unsigned>(opts.port), tls_error.c_str());
        return;
    }
    impl_->actor = impl_->sys->spawn(client_impl, impl_->shared, opts);
}

kv_store_client::~kv_store_client() {
    if (impl_->actor) caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
    impl_->actor = nullptr;
    impl_->sys.reset();  // waits for the actor: no callback runs after this
}

bool kv_store_client::contains(const core::block_hash& h) const {
    auto& sh = *impl_->shared;
    std::lock_guard lock(sh.mu);
    return sh.mirror.count(h) != 0;
}

bool kv_store_client::reserve_save(const core::block_hash& h) {
    auto& sh = *impl_->shared;
    std::lock_guard lock(sh.mu);
    if (sh.mirror.count(h) || sh.pending_saves.count(h)) return false;
    if (!sh.connected || sh.inflight_bytes + impl_->payload() > impl_->opts.max_inflight_bytes) {
        ++sh.stats.saves_skipped;
        return false;
    }
    sh.pending_saves.insert(h);
    sh.inflight_bytes += impl_->payload();
    return true;
}

void kv_store_client::cancel_save(const core::block_hash& h) {
    auto& sh = *impl_->shared;
    {
        std::lock_guard lock(sh.mu);
        if (sh.pending_saves.erase(h)) sh.inflight_bytes -= impl_->payload();
    }
    sh.cv.notify_all();
}

void kv_store_client::save_async(const core::block_hash& h, std::vector<uint8_t> payload) {
    if (static_cast<int64_t>(payload.size()) != impl_->payload()) {
        cancel_save(h);
        std::lock_guard lock(impl_->shared->mu);
        ++impl_->shared->stats.saves_skipped;
        return;
    }
    // CAF copies only char vectors as raw bytes: one memcpy here, none on the wire.
    save_job job{h, std::vector<char>(payload.begin(), payload.end())};
    caf::anon_send(impl_->actor, std::move(job));
}

void kv_store_client::load_async(std::string req_id, std::vector<load_block> blocks,
                                 kv_block_io* io) {
    {
        std::lock_guard lock(impl_->shared->mu);
        ++impl_->shared->loads_in_flight;
    }
    caf::anon_send(impl_->actor, load_job{std::move(req_id), std::move(blocks), io});
}

std::vector<kv::kv_block_store::load_result> kv_store_client::take_finished_loads() {
    std::lock_guard lock(impl_->shared->mu);
    return std::exchange(impl_->shared->finished_loads, {});
}

void kv_store_client::flush() {
    auto& sh = *impl_->shared;
    std::unique_lock lock(sh.mu);
    sh.cv.wait_for(lock, 2 * impl_->opts.timeout + std::chrono::seconds(1),
                   [&] { return sh.pending_saves.empty() && sh.loads_in_flight == 0; });
}

kv::kv_connector_stats kv_store_client::stats() const {
    auto& sh = *impl_->shared;
    std::lock_guard lock(sh.mu);
    kv::kv_connector_stats s = sh.stats;
    s.blocks_stored = static_cast<int64_t>(sh.mirror.size());
    s.bytes_stored = s.blocks_stored * impl_->payload();
    return s;
}

std::vector<kv::kv_event> kv_store_client::take_events() {
    std::lock_guard lock(impl_->shared->mu);
    return std::exchange(impl_->shared->events, {});
}

size_t kv_store_client::payload_bytes() const { return static_cast<size_t>(impl_->payload()); }

bool kv_store_client::connected() const {
    std::lock_guard lock(impl_->shared->mu);
    return impl_->shared->connected;
}

bool kv_store_client::wait_connected(std::chrono::milliseconds limit) const {
    auto& sh = *impl_->shared;
    std::unique_lock lock(sh.mu);
    return sh.cv.wait_for(lock, limit, [&] { return sh.connected; });
}

std::vector<std::string> kv_store_connector_extra_keys() {
    return {"store_address", "timeout_ms", "max_inflight_bytes", "tls_cert", "tls_key", "tls_ca"};
}

void inherit_kv_store_tls(kv::kv_transfer_config& cfg, const tls_config& tls) {
    if (!tls.enabled()) return;
    for (auto& chained : cfg.connectors) inherit_kv_store_tls(chained, tls);
    if (cfg.kv_connector != "KVStoreConnector") return;
    const bool own = cfg.extra.count("tls_cert") || cfg.extra.count("tls_key") ||
                     cfg.extra.count("tls_ca");
    if (own) return;
    cfg.extra["tls_cert"] = tls.cert_file;
    cfg.extra["tls_key"] = tls.key_file;
    cfg.extra["tls_ca"] = tls.ca_file;
}

void register_kv_store_connector() {
    static std::once_flag once;
    std::call_once(once, [] {
        kv::register_kv_connector("KVStoreConnector", kv_store_connector_extra_keys(),
                                  make_kv_store_connector);
    });
}

}  // namespace actorlm::actors

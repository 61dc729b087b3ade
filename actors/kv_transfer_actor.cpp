// kv_transfer_actor implementation. A pull first tries a stream (when configured),
// which loads a leading run of blocks (`base`); the rest, if any, is split into chunks
// of whole blocks. Replies from one producer arrive in request order, but the
// bookkeeping does not rely on it: a pull's loaded prefix is `base` plus its leading
// chunks that came back complete. Once a chunk comes back short or fails, no further
// chunk is asked for.
#include "actors/kv_transfer_actor.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include <caf/io/all.hpp>

#include "actors/node_tls.hpp"
#include "base/elapsed.hpp"
#include "kv/kv_stream_server.hpp"
#include "kv/kv_transfer_endpoint.hpp"

namespace actorlm::actors {
namespace {

/// The largest pull reply a producer sends (CAF's BASP header counts a message in 32
/// bits; far below that keeps one reply from holding the connection for long).
constexpr int64_t k_max_reply_bytes = int64_t{64} << 20;

struct active_pull {
    kv::kv_transfer_endpoint::pull p;
    std::string peer;                // HOST:PORT
    size_t base = 0;                 // leading blocks the stream loaded
    int32_t streamed = 0;            // blocks the producer's ticket promised
    bool streaming = false;          // a receiver thread writes into the blocks now
    size_t chunk_blocks = 1;
    size_t num_chunks = 0;
    size_t next_chunk = 0;           // the next to ask for
    int32_t inflight = 0;
    std::vector<int32_t> got;        // per chunk: blocks written, -1 while asked
    bool stopped = false;            // a chunk came back short or failed
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

struct transfer_state {
    transfer_state() = default;  // not an aggregate: CAF probes State(self)
    ~transfer_state() {
        if (endpoint) endpoint->set_wakeup({});
        receivers.stop();  // before the endpoint they write into can go
        server.reset();
    }
    std::shared_ptr<kv::kv_transfer_endpoint> endpoint;
    std::unique_ptr<kv::kv_stream_server> server;  // a producer's, started on first use
    kv::socket_workers receivers{8};               // a consumer's streams
    // Connected producers: any actor speaking the transfer protocol (a cluster member).
    std::map<std::string, kv_transfer_service> peers;
    std::map<std::string, std::vector<uint64_t>> connecting;  // pulls waiting for a peer
    std::map<uint64_t, active_pull> pulls;
    uint64_t next_pull = 0;
    static inline const char* name = "actorlm.kv_transfer";
};

using transfer_ptr = kv_transfer_actor::stateful_pointer<transfer_state>;

std::string peer_of(const kv::kv_transfer_endpoint::pull& p) {
    return p.host + ":" + std::to_string(p.port);
}

/// Reports a pull whose chunks are all answered (or abandoned) and releases the
/// producer's blocks.
void finish(transfer_ptr self, uint64_t id) {
    auto& st = self->state;
    auto it = st.pulls.find(id);
    if (it == st.pulls.end()) return;
    active_pull& a = it->second;
    auto loaded = static_cast<int32_t>(a.base);
    for (size_t c = 0; c < a.got.size(); ++c) {
        const size_t len =
            std::min(a.chunk_blocks, a.p.block_ids.size() - a.base - c * a.chunk_blocks);
        const int32_t g = std::max(a.got[c], 0);
        loaded += g;
        if (static_cast<size_t>(g) < len) break;
    }
    st.endpoint->finish_pull(a.p, loaded, seconds_since(a.started));
    if (auto peer = st.peers.find(a.peer); peer != st.peers.end())
        self->send(peer->second, release_atom_v, a.p.remote_id);
    st.pulls.erase(it);
}

void maybe_finish(transfer_ptr self, uint64_t id) {
    auto it = self->state.pulls.find(id);
    if (it == self->state.pulls.end()) return;
    const active_pull& a = it->second;
    if (a.inflight == 0 && (a.stopped || a.next_chunk == a.num_chunks)) finish(self, id);
}

/// Writes an answered chunk into the cache; a short or malformed answer stops the pull.
void on_chunk(transfer_ptr self, uint64_t id, size_t c, const std::vector<char>& bytes,
              int32_t n) {
    auto& st = self->state;
    auto it = st.pulls.find(id);
    if (it == st.pulls.end()) return;  // failed over already
    active_pull& a = it->second;
    const size_t first = a.base + c * a.chunk_blocks;
    const size_t len = std::min(a.chunk_blocks, a.p.block_ids.size() - first);
    const size_t payload = st.endpoint->payload_bytes();
    // Never trust the producer: a reply of the wrong size is a miss.
    if (n < 0 || static_cast<size_t>(n) > len || bytes.size() != static_cast<size_t>(n) * payload)
        n = 0;
    int32_t written = 0;
    for (; written < n; ++written) {
        const auto b = static_cast<size_t>(written);
        if (!st.endpoint->write(a.p.block_ids[first + b],
                                std::span<const char>(bytes.data() + b * payload, payload)))
            break;
    }
    a.got[c] = written;
    a.inflight -= 1;
    if (static_cast<size_t>(written) < len) a.stopped = true;
}

void ask(transfer_ptr self, uint64_t id);

void on_failure(transfer_ptr self, uint64_t id, size_t c) {
    auto it = self->state.pulls.find(id);
    if (it == self->state.pulls.end()) return;
    it->second.got[c] = 0;
    it->second.inflight -= 1;
    it->second.stopped = true;
    maybe_finish(self, id);
}

/// Asks for chunks until the window is full.
void ask(transfer_ptr self, uint64_t id) {
    auto& st = self->state;
    auto it = st.pulls.find(id);
    if (it == st.pulls.end()) return;
    active_pull& a = it->second;
    auto peer = st.peers.find(a.peer);
    if (peer == st.peers.end()) {
        a.stopped = true;
        return maybe_finish(self, id);
    }
    const auto& cfg = st.endpoint->config();
    const auto payload = static_cast<int64_t>(st.endpoint->payload_bytes());
    while (!a.stopped && a.next_chunk < a.num_chunks && a.inflight < cfg.max_inflight_chunks) {
        const size_t c = a.next_chunk++;
        const size_t first = a.base + c * a.chunk_blocks;
        const size_t len = std::min(a.chunk_blocks, a.p.block_ids.size() - first);
        std::vector<core::block_hash> expected(a.p.hashes.begin() + static_cast<ptrdiff_t>(first),
                                               a.p.hashes.begin() +
                                                   static_cast<ptrdiff_t>(first + len));
        a.got[c] = -1;
        a.inflight += 1;
        self->request(peer->second, cfg.pull_timeout, kv_pull_atom_v, a.p.remote_id,
                      a.p.first_remote_block + static_cast<int32_t>(first), std::move(expected),
                      payload)
            .then(
                [self, id, c](const std::vector<char>& bytes, int32_t n) {
                    on_chunk(self, id, c, bytes, n);
                    ask(self, id);
                    maybe_finish(self, id);
                },
                [self, id, c](caf::error&) { on_failure(self, id, c); });
    }
    maybe_finish(self, id);
}

/// Pulls blocks [base, end) of pull `id` in chunks.
void pull_chunks(transfer_ptr self, uint64_t id, size_t base) {
    auto it = self->state.pulls.find(id);
    if (it == self->state.pulls.end()) return;
    active_pull& a = it->second;
    a.base = std::min(base, a.p.block_ids.size());
    a.num_chunks = (a.p.block_ids.size() - a.base + a.chunk_blocks - 1) / a.chunk_blocks;
    a.got.assign(a.num_chunks, 0);
    ask(self, id);
}

/// A stream of pull `id` ended with `received` leading blocks in the cache.
void on_stream_end(transfer_ptr self, uint64_t id, int32_t received) {
    auto it = self->state.pulls.find(id);
    if (it == self->state.pulls.end()) return;
    active_pull& a = it->second;
    a.streaming = false;
    a.base = static_cast<size_t>(std::clamp(received, 0, a.streamed));
    // The ticket covered every block that matches: done. A stream cut short leaves the
    // rest to chunks, which find out soon enough whether the producer is still there.
    if (received >= a.streamed) return finish(self, id);
    pull_chunks(self, id, a.base);
}

/// Receives ticket `token`'s blocks on one of the receiver threads.
void receive_stream(transfer_ptr self, uint64_t id, uint16_t port, const std::string& token) {
    auto& st = self->state;
    active_pull& a = st.pulls.at(id);
    std::vector<int32_t> blocks(a.p.block_ids.begin(),
                                a.p.block_ids.begin() + static_cast<ptrdiff_t>(a.streamed));
    auto weak = caf::actor_cast<caf::actor_addr>(self);
    auto report = [weak, id](int32_t received) {
        if (auto h = caf::actor_cast<kv_transfer_actor>(weak))
            caf::anon_send(h, kv_stream_atom_v, id, received);
    };
    auto endpoint = st.endpoint;
    const bool running = st.receivers.run(
        [host = a.p.host, port, token, timeout = endpoint->config().pull_timeout, report] {
            auto s = kv::tcp_connect(host, port, timeout);
            iovec v{const_cast<char*>(token.data()), token.size()};
            if (s && kv::tcp_send_all(*s, std::span<iovec>(&v, 1))) return std::move(*s);
            report(0);  // unreachable: the chunks try the actors' connection
            return kv::tcp_socket{};
        },
        [endpoint, blocks = std::move(blocks), report](const kv::tcp_socket& s) {
            report(endpoint->receive_stream(s, blocks));
        });
    if (running)
        a.streaming = true;
    else
        pull_chunks(self, id, 0);  // every receiver busy
}

/// Starts pull `id` once its producer is connected: a stream when configured, else
/// (or when the producer has none) chunks through the actors.
void begin(transfer_ptr self, uint64_t id) {
    auto& st = self->state;
    auto it = st.pulls.find(id);
    if (it == st.pulls.end()) return;
    const active_pull& a = it->second;
    if (a.p.block_ids.empty()) return finish(self, id);  // a release only
    if (!st.endpoint->config().stream) return pull_chunks(self, id, 0);
    auto peer = st.peers.find(a.peer);
    if (peer == st.peers.end()) return pull_chunks(self, id, 0);  // fails the pull
    self->request(peer->second, st.endpoint->config().pull_timeout, kv_stream_atom_v,
                  a.p.remote_id, a.p.first_remote_block, a.p.hashes,
                  static_cast<int64_t>(st.endpoint->payload_bytes()))
        .then(
            [self, id](uint16_t port, const std::string& token, int32_t n) {
                auto pull = self->state.pulls.find(id);
                if (pull == self->state.pulls.end()) return;
                if (n <= 0) return finish(self, id);  // nothing there to load
                pull->second.streamed =
                    std::min(n, static_cast<int32_t>(pull->second.p.block_ids.size()));
                receive_stream(self, id, port, token);
            },
            [self, id](caf::error&) { pull_chunks(self, id, 0); });  // no stream there
}

/// Every pull waiting for `peer` fails (it cannot be reached, or went down).
void fail_peer(transfer_ptr self, const std::string& peer) {
    auto& st = self->state;
    std::vector<uint64_t> ids;
    if (auto w = st.connecting.find(peer); w != st.connecting.end()) {
        ids = std::move(w->second);
        st.connecting.erase(w);
    }
    for (const auto& [id, a] : st.pulls)
        if (a.peer == peer) ids.push_back(id);
    st.peers.erase(peer);
    for (uint64_t id : ids) {
        auto it = st.pulls.find(id);
        // A stream's thread still writes into its blocks: it ends on its own (the socket
        // closes or times out), and the pull fails over then.
        if (it == st.pulls.end() || it->second.streaming) continue;
        // Chunks still asked for will never be written: the pull ends now.
        for (auto& g : it->second.got)
            if (g < 0) g = 0;
        it->second.inflight = 0;
        it->second.stopped = true;
        finish(self, id);
    }
}

/// Reaches `peer` through the middleman's asynchronous connect (never blocks).
void connect(transfer_ptr self, const std::string& peer, const std::string& host,
             uint16_t port) {
    auto mm = node_connector(self->system());
    const auto timeout = self->state.endpoint->config().pull_timeout;
    self->request(mm, timeout, caf::connect_atom::value, host, port)
        .then(
            [self, peer](const caf::node_id&, caf::strong_actor_ptr& ptr,
                         const std::set<std::string>& ifs) {
                auto& st = self->state;
                if (!ptr || !self->system().assignable<kv_transfer_service>(ifs))
                    return fail_peer(self, peer);
                auto h = caf::actor_cast<kv_transfer_service>(std::move(ptr));
                self->monitor(h);
                st.peers[peer] = h;
                std::vector<uint64_t> waiting = std::move(st.connecting[peer]);
                st.connecting.erase(peer);
                for (uint64_t id : waiting) begin(self, id);
            },
            [self, peer](caf::error&) { fail_peer(self, peer); });
}

/// Takes the pulls the worker queued and starts them.
void start_pulls(transfer_ptr self) {
    auto& st = self->state;
    for (auto& p : st.endpoint->take_pulls()) {
        const uint64_t id = st.next_pull++;
        active_pull a;
        a.peer = peer_of(p);
        const auto payload = static_cast<int64_t>(st.endpoint->payload_bytes());
        const int64_t chunk = std::min(st.endpoint->config().chunk_bytes, k_max_reply_bytes);
        a.chunk_blocks = static_cast<size_t>(std::max<int64_t>(1, chunk / payload));
        const std::string host = p.host;
        const uint16_t port = p.port;
        a.p = std::move(p);
        const std::string peer = a.peer;
        st.pulls.emplace(id, std::move(a));
        if (st.peers.count(peer)) {
            begin(self, id);
            continue;
        }
        auto& waiting = st.connecting[peer];
        waiting.push_back(id);
        if (waiting.size() == 1) connect(self, peer, host, port);
    }
}

kv_transfer_actor::behavior_type transfer_impl(transfer_ptr self,
                                               std::shared_ptr<kv::kv_transfer_endpoint> endpoint) {
    self->state.endpoint = std::move(endpoint);
    // Wakes this actor when the worker queues a pull. The endpoint outlives this actor
    // (the connector holds it), so it keeps only a weak address: no reference cycle.
    auto weak = caf::actor_cast<caf::actor_addr>(self);
    self->state.endpoint->set_wakeup([weak] {
        if (auto h = caf::actor_cast<kv_transfer_actor>(weak)) caf::anon_send(h, kv_pull_atom_v);
    });
    self->set_down_handler([self](caf::down_msg& dm) {
        for (const auto& [peer, h] : self->state.peers)
            if (h.address() == dm.source) return fail_peer(self, peer);
    });
    self->send(self, kv_pull_atom_v);  // pulls queued before the wakeup was installed
    return {
        [self](kv_pull_atom, const std::string& transfer, int32_t first,
               const std::vector<core::block_hash>& expected,
               int64_t payload) -> caf::result<std::vector<char>, int32_t> {
            auto& ep = *self->state.endpoint;
            if (payload != static_cast<int64_t>(ep.payload_bytes()))
                return caf::make_error(engine_errc::bad_setup,
                                       "KV pull: blocks of " + std::to_string(payload) +
                                           " bytes asked, this engine's are " +
                                           std::to_string(ep.payload_bytes()) +
                                           " (another model or KV layout)");
            // A reply never exceeds the limit: fewer blocks are an ordinary short answer.
            const auto most = static_cast<size_t>(std::max<int64_t>(1, k_max_reply_bytes / payload));
            std::vector<char> bytes;
            const int32_t n = ep.read(
                transfer, first,
                std::span<const core::block_hash>(expected).first(std::min(most, expected.size())),
                bytes);
            return caf::result<std::vector<char>, int32_t>(std::move(bytes), n);
        },
        [self](kv_stream_atom, const std::string& transfer, int32_t first,
               const std::vector<core::block_hash>& expected,
               int64_t payload) -> caf::result<uint16_t, std::string, int32_t> {
            auto& st = self->state;
            if (payload != static_cast<int64_t>(st.endpoint->payload_bytes()))
                return caf::make_error(engine_errc::bad_setup,
                                       "KV stream: blocks of " + std::to_string(payload) +
                                           " bytes asked, this engine's are " +
                                           std::to_string(st.endpoint->payload_bytes()));
            if (!st.endpoint->config().stream)
                return caf::make_error(engine_errc::bad_setup,
                                       "this engine sends KV through its actors only");
            if (!st.server) {
                auto server = kv::kv_stream_server::start(st.endpoint,
                                                          st.endpoint->config().stream_host);
                if (!server) return caf::make_error(engine_errc::bad_setup, server.message());
                st.server = std::move(*server);
            }
            auto ticket = st.endpoint->open_stream(transfer, first, expected);
            return caf::result<uint16_t, std::string, int32_t>(st.server->port(),
                                                               std::move(ticket.token),
                                                               ticket.num_blocks);
        },
        [self](kv_stream_atom, uint64_t id, int32_t received) {
            on_stream_end(self, id, received);
        },
        [self](release_atom, const std::string& transfer) {
            self->state.endpoint->release(transfer);
        },
        [self](kv_pull_atom) { start_pulls(self); },
    };
}

}  // namespace

kv_transfer_actor spawn_kv_transfer_actor(caf::local_actor* owner,
                                          std::shared_ptr<kv::kv_transfer_endpoint> endpoint) {
    return owner->spawn<caf::linked>(transfer_impl, std::move(endpoint));
}

kv_transfer_actor spawn_kv_transfer_actor(caf::actor_system& sys,
                                          std::shared_ptr<kv::kv_transfer_endpoint> endpoint) {
    return sys.spawn(transfer_impl, std::move(endpoint));
}

}  // namespace actorlm::actors

// cluster_router implementation: the router actor keeps, per request it sent, the
// caller's callback and the member it went to; members' loads are polled.
#include "actors/cluster_router.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <caf/io/all.hpp>

#include "actors/node_tls.hpp"
#include "base/host_port.hpp"
#include "cluster/request_routing.hpp"
#include "core/block_hash.hpp"
#include "core/prompt_builder.hpp"
#include "core/scheduler.hpp"

namespace actorlm::actors {

namespace {

/// How often the router asks every member for its load.
constexpr auto k_load_poll = std::chrono::milliseconds(250);
/// A member that does not answer a stats request in this long counts as unhealthy.
constexpr auto k_stats_timeout = std::chrono::seconds(2);
/// How often the router tries to reach a member that went down again.
constexpr auto k_reconnect_interval = std::chrono::seconds(1);
/// The longest a migration's pre-copy round may take before the request stops and
/// moves anyway (the target pulls or recomputes what it lacks then).
constexpr auto k_precopy_timeout = std::chrono::seconds(5);

/// What a member is for: a replica serves whole requests; in a disaggregated
/// cluster a prefill member computes prompts' KV and a decode member continues them.
enum class member_role { replica, prefill, decode };

struct member_entry {
    cluster_member_actor handle;  // empty while it is down
    member_role role = member_role::replica;
    std::string address;
    host_port where;
    engine_stats last;       // its last stats answer (healthy until one says otherwise)
    int64_t sent_since = 0;  // requests this router sent it after that answer
    // The blocks its device prefix cache holds, as its KV events tell (prefix_aware).
    kv::block_hash_set cached;
    // Taken out of the cluster while it ran: no new requests, no reconnects; its slot
    // stays (routes refer to members by index) and its counters still count.
    bool removed = false;
};

const char* role_name(member_role r) {
    switch (r) {
        case member_role::replica: return "replica";
        case member_role::prefill: return "prefill";
        case member_role::decode: return "decode";
    }
    return "replica";
}

/// A member reached from a user's thread (create, add_cluster_member), for the router
/// actor to adopt.
struct new_member {
    member_entry entry;
};

}  // namespace
}  // namespace actorlm::actors

// Local messages between a caller's thread and the router actor only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(actorlm::actors::new_member)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<actorlm::cluster_member_info>)

namespace actorlm::actors {
namespace {

/// The block hashes of a request's prompt, as its engine will compute them.
using prompt_hasher = std::function<std::vector<core::block_hash>(const generate_request&)>;
/// The number of tokens of a request's prompt (-1 if it cannot be built).
using prompt_counter = std::function<int64_t(const generate_request&)>;

/// A request this router sent: who gets its deltas and which sequences still run.
/// A disaggregated request has two legs: first its prefill on a prefill member (its
/// deltas are not the caller's), then, with the KV's whereabouts, its decode.
struct route {
    delta_callback on_delta;
    size_t member = 0;
    std::string request_id;
    std::vector<bool> ended;  // per sequence index
    bool prefill_leg = false;
    bool aborted = false;                // the caller aborted during the prefill leg
    std::optional<generate_request> original;  // for the decode leg
    // Live migration (one sequence): the request as its member got it, what streamed
    // back so far, and where it is being moved.
    generate_request sent;
    std::vector<int32_t> prompt_ids;
    std::vector<int32_t> outputs;
    std::optional<size_t> migrate_to;
    bool precopying = false;  // its target pulls the KV so far; it still runs here
    bool continued = false;   // it runs on a second member after a migration
    // A pre-copy's warming request on the target (its deltas are nobody's): the
    // stream of the migrating request it warms.
    std::optional<uint64_t> warms;
};

/// Ends every sequence of `r` that has not ended with `why`.
void fail_route(route& r, const std::string& why);

struct router_state {
    router_state() = default;  // not an aggregate: CAF probes State(self)
    // The router is going away (shutdown): nobody will deliver the rest of these
    // streams, so their callers get an error instead of waiting for ever.
    ~router_state() {
        for (auto& [stream, r] : routes) fail_route(r, "the router shut down");
    }
    std::vector<member_entry> members;
    std::unique_ptr<cluster::request_router> policy;
    prompt_hasher hasher;
    uint64_t next_stream = 0;
    std::map<uint64_t, route> routes;
    std::unordered_map<std::string, uint64_t> by_request_id;
    bool disaggregated = false;  // prefill and decode members instead of replicas
    int32_t pd_prompt_threshold = 0;
    prompt_counter count_prompt;
    int32_t rebalance_threshold = 0;
    static inline const char* name = "actorlm.cluster_router";
};

using router_ptr = caf::stateful_actor<router_state>*;

/// The error delta that ends sequence `index` of a request nobody can serve.
output_delta failure(const std::string& request_id, int32_t index, const std::string& why) {
    output_delta d;
    d.request_id = request_id;
    d.index = index;
    d.finish = finish_reason::error;
    d.error = why;
    d.error_kind = error_kind::unavailable;
    return d;
}

void fail_route(route& r, const std::string& why) {
    for (size_t i = 0; i < r.ended.size(); ++i)
        if (!r.ended[i]) r.on_delta(failure(r.request_id, static_cast<int32_t>(i), why));
}

bool healthy(const member_entry& m) { return !m.removed && m.handle && m.last.healthy; }

/// What the routing policy sees of a member.
cluster::member_load load_of(const member_entry& m) {
    cluster::member_load l;
    l.healthy = healthy(m);
    l.running = m.last.num_requests_running;
    l.waiting = m.last.num_requests_waiting;
    l.kv_usage = m.last.kv_cache_usage;
    l.sent_since = m.sent_since;
    return l;
}

/// Whether a request goes through a prefill member first: one sequence, and nothing a
/// consumer could not give it from pulled KV (prompt logprobs need every position).
bool disaggregate(const router_state& st, const generate_request& req) {
    if (!st.disaggregated || req.params.n != 1 || req.params.prompt_logprobs >= 0 ||
        req.params.kv_transfer)
        return false;
    return st.pd_prompt_threshold <= 0 || st.count_prompt(req) >= st.pd_prompt_threshold;
}

/// The prefill leg: the prompt computed, one token sampled (and dropped), the KV kept
/// for the decode member to pull.
generate_request prefill_request(const generate_request& req) {
    generate_request p = req;
    p.request_id = req.request_id + "-prefill";
    p.params.max_tokens = 1;
    p.params.min_tokens = 0;
    p.params.logprobs = -1;
    p.params.stop.clear();
    p.params.kv_transfer = kv_transfer_params{};
    p.params.kv_transfer->do_remote_decode = true;
    return p;
}

void send_route(router_ptr self, route r, generate_request req);
/// Sends `req` for route `r` to member `member` (chosen already).
void send_to(router_ptr self, route r, generate_request req, size_t member);
void stop_for_move(router_ptr self, uint64_t stream);
void continue_migrated(router_ptr self, route r, const output_delta& done);

void forward(router_ptr self, submission& sub) {
    auto& st = self->state;
    const bool two_legs = disaggregate(st, sub.request);
    route r;
    r.on_delta = std::move(sub.on_delta);
    r.request_id = sub.request.request_id;
    r.ended.assign(static_cast<size_t>(std::max(sub.request.params.n, 1)), false);
    if (two_legs) {
        r.prefill_leg = true;
        generate_request leg = prefill_request(sub.request);
        r.original = std::move(sub.request);
        return send_route(self, std::move(r), std::move(leg));
    }
    send_route(self, std::move(r), std::move(sub.request));
}

/// Whether member `m` may take the leg `r` is at.
bool serves(const member_entry& m, const route& r) {
    if (r.prefill_leg) return m.role == member_role::prefill;
    return m.role != member_role::prefill;
}

/// Picks a member for the leg `r` is at (by the policy, among those that serve it) and
/// sends it `req`.
void send_route(router_ptr self, route r, generate_request req) {
    auto& st = self->state;
    std::vector<cluster::member_load> loads;
    for (const auto& m : st.members) {
        loads.push_back(load_of(m));
        if (!serves(m, r)) loads.back().healthy = false;
    }
    if (st.policy->policy() == cluster::routing_policy::prefix_aware) {
        const auto hashes = st.hasher(req);
        for (size_t i = 0; i < st.members.size(); ++i) {
            int64_t n = 0;
            while (n < static_cast<int64_t>(hashes.size()) &&
                   st.members[i].cached.count(hashes[static_cast<size_t>(n)]) != 0)
                ++n;
            loads[i].cached_blocks = n;
        }
    }
    const int pick = st.policy->pick(loads);
    if (pick < 0 && r.prefill_leg) {
        // No prefill member can take it: the decode member prefills it itself.
        r.prefill_leg = false;
        generate_request whole = std::move(*r.original);
        r.original.reset();
        return send_route(self, std::move(r), std::move(whole));
    }
    if (pick < 0) {
        st.by_request_id.erase(r.request_id);
        fail_route(r, "no cluster member is available");
        return;
    }
    send_to(self, std::move(r), std::move(req), static_cast<size_t>(pick));
}

void send_to(router_ptr self, route r, generate_request req, size_t member) {
    auto& st = self->state;
    r.member = member;
    if (!r.prefill_leg && req.params.n == 1) r.sent = req;  // what a migration resends
    member_entry& m = st.members[r.member];
    m.sent_since += 1;
    const uint64_t stream = st.next_stream++;
    if (!r.warms) st.by_request_id[r.request_id] = stream;  // the caller's requests only
    st.routes.emplace(stream, std::move(r));
    self->send(m.handle, generate_atom_v, stream, std::move(req));
}

/// The prefill leg of `r` ended (`done` is its final delta, or none if its member went
/// down): the decode leg starts, pulling the KV when the prefill member kept it, else
/// computing the prompt itself. A request aborted meanwhile just ends.
void start_decode_leg(router_ptr self, route r, const output_delta* done) {
    auto& st = self->state;
    if (r.aborted) {
        st.by_request_id.erase(r.request_id);
        output_delta d;
        d.request_id = r.request_id;
        d.finish = finish_reason::abort;
        r.on_delta(d);
        return;
    }
    generate_request req = std::move(*r.original);
    r.original.reset();
    r.prefill_leg = false;
    const member_entry& producer = st.members[r.member];
    if (done && done->kv_transfer && done->kv_transfer->do_remote_prefill &&
        (done->finish == finish_reason::stop || done->finish == finish_reason::length)) {
        kv_transfer_params kt = *done->kv_transfer;
        // Where the router reaches it is where the consumer can (its --cluster-listen
        // host may be a wildcard).
        kt.remote_host = producer.where.host;
        kt.remote_port = producer.where.port;
        req.params.kv_transfer = std::move(kt);
    }
    send_route(self, std::move(r), std::move(req));
}

void deliver(router_ptr self, uint64_t stream, std::vector<output_delta>& deltas) {
    auto& st = self->state;
    auto it = st.routes.find(stream);
    if (it == st.routes.end()) return;  // failed over already
    route& r = it->second;
    if (r.warms) {
        if (std::none_of(deltas.begin(), deltas.end(), [](const auto& d) { return d.finished(); }))
            return;
        const uint64_t warmed = *r.warms;
        st.routes.erase(it);
        return stop_for_move(self, warmed);
    }
    if (r.prefill_leg) {
        for (const auto& d : deltas) {
            if (!d.finished()) continue;
            route next = std::move(r);
            st.routes.erase(it);
            return start_decode_leg(self, std::move(next), &d);
        }
        return;
    }
    for (auto& d : deltas) {
        if (r.migrate_to && d.finished() && d.finish == finish_reason::abort && !r.aborted) {
            route next = std::move(r);
            st.routes.erase(it);
            return continue_migrated(self, std::move(next), d);
        }
        if (r.continued) {  // the caller had these from the first member
            d.prompt_token_ids.clear();
            d.queued_seconds = -1.0;
        } else if (r.prompt_ids.empty() && !d.prompt_token_ids.empty()) {
            r.prompt_ids = d.prompt_token_ids;
        }
        r.outputs.insert(r.outputs.end(), d.token_ids.begin(), d.token_ids.end());
        if (d.finished() && d.index >= 0 && static_cast<size_t>(d.index) < r.ended.size())
            r.ended[static_cast<size_t>(d.index)] = true;
        r.on_delta(d);
    }
    if (std::all_of(r.ended.begin(), r.ended.end(), [](bool e) { return e; })) {
        st.by_request_id.erase(r.request_id);
        st.routes.erase(it);
    }
}

/// A migrating request's first member ended it keeping its KV (`done` says where): the
/// target member goes on from the tokens the caller has, pulling that KV, so the
/// caller's stream continues with no gap and no repeat.
void continue_migrated(router_ptr self, route r, const output_delta& done) {
    auto& st = self->state;
    generate_request req = std::move(r.sent);
    if (!r.prompt_ids.empty()) {  // exactly what ran, whatever the prompt's form
        req.prompt.clear();
        req.messages.clear();
        req.prompt_token_ids = r.prompt_ids;
    }
    req.resume_output_token_ids = r.outputs;
    req.params.kv_transfer.reset();
    if (done.kv_transfer && done.kv_transfer->do_remote_prefill) {
        kv_transfer_params kt = *done.kv_transfer;
        kt.remote_host = st.members[r.member].where.host;
        kt.remote_port = st.members[r.member].where.port;
        req.params.kv_transfer = std::move(kt);
    }
    const size_t target = *r.migrate_to;
    r.migrate_to.reset();
    r.precopying = false;
    r.continued = true;
    if (healthy(st.members[target])) return send_to(self, std::move(r), std::move(req), target);
    send_route(self, std::move(r), std::move(req));  // the target went away: any member
}

/// The second round of moving route `stream`: its member ends the request keeping its
/// KV, and its final delta (deliver) continues it on the target. Nothing if the
/// request ended or moved meanwhile.
void stop_for_move(router_ptr self, uint64_t stream) {
    auto& st = self->state;
    auto it = st.routes.find(stream);
    if (it == st.routes.end() || !it->second.precopying) return;
    route& r = it->second;
    r.precopying = false;
    if (r.aborted) return;  // the caller's abort ends it where it runs
    if (auto& h = st.members[r.member].handle) self->send(h, migrate_atom_v, stream);
}

/// The pre-copy's snapshot of route `stream` is at its member (`kt`): the target pulls
/// it into its prefix cache through a warming request, the tokens the caller has so far
/// with the request's own salt and settings and one token to sample (dropped), so that
/// the continuation finds those blocks cached and pulls only what was written since.
void warm_target(router_ptr self, uint64_t stream, kv_transfer_params kt) {
    auto& st = self->state;
    auto it = st.routes.find(stream);
    const member_entry* source = nullptr;
    if (it != st.routes.end()) source = &st.members[it->second.member];
    if (it == st.routes.end() || !it->second.precopying || !it->second.migrate_to ||
        !healthy(st.members[*it->second.migrate_to])) {
        // Nobody will pull the snapshot: its member may free the blocks now.
        if (source && source->handle)
            self->send(source->handle, release_atom_v, kt.remote_request_id);
        if (it != st.routes.end()) stop_for_move(self, stream);
        return;
    }
    route& r = it->second;
    generate_request w = r.sent;
    w.request_id = r.request_id + "-precopy";
    w.prompt.clear();
    w.messages.clear();
    w.prompt_token_ids = r.prompt_ids;
    w.resume_output_token_ids = r.outputs;
    w.params.max_tokens = static_cast<int32_t>(r.outputs.size()) + 1;
    w.params.min_tokens = 0;
    w.params.logprobs = -1;
    w.params.prompt_logprobs = -1;
    w.params.stop.clear();
    kt.remote_host = source->where.host;  // where the router reaches it, as for a prefill leg
    kt.remote_port = source->where.port;
    w.params.kv_transfer = std::move(kt);
    route warm;
    warm.on_delta = [](const output_delta&) {};
    warm.request_id = w.request_id;
    warm.ended.assign(1, false);
    warm.warms = stream;
    send_to(self, std::move(warm), std::move(w), *r.migrate_to);
}

/// Moves route `stream` (`r`, one running sequence) to member `target` in two rounds,
/// as Llumnix does: first the target pulls the KV computed so far while the request
/// keeps decoding here (the pre-copy), then the request stops and the target continues
/// it, pulling only the blocks written since. The caller's pause is the second round
/// only, whatever the context's length. Without a snapshot (no PeerConnector, no whole
/// block yet, the prompt's ids not seen) it stops at once.
void start_migration(router_ptr self, uint64_t stream, route& r, size_t target) {
    auto& st = self->state;
    r.migrate_to = target;
    r.precopying = true;
    auto source = st.members[r.member].handle;
    if (!source || r.prompt_ids.empty()) return stop_for_move(self, stream);
    self->request(source, k_precopy_timeout, precopy_atom_v, stream)
        .then([self, stream](kv_transfer_params& kt) { warm_target(self, stream, std::move(kt)); },
              [self, stream](caf::error&) { stop_for_move(self, stream); });
    // A target that never finishes warming must not hold the move back.
    self->delayed_send(self, k_precopy_timeout, precopy_atom_v, stream);
}

/// Moves the running requests of member `from` (or only `request_id`) to member `to`;
/// how many were asked to move.
caf::result<int32_t> migrate(router_ptr self, const std::string& from, const std::string& to,
                             const std::string& request_id) {
    auto& st = self->state;
    auto find = [&](const std::string& address) -> std::optional<size_t> {
        for (size_t i = 0; i < st.members.size(); ++i)
            if (st.members[i].address == address && !st.members[i].removed) return i;
        return std::nullopt;
    };
    const auto a = find(from), b = find(to);
    if (!a || !b)
        return caf::make_error(engine_errc::bad_setup,
                               "no cluster member " + (a ? to : from));
    if (*a == *b) return caf::make_error(engine_errc::bad_setup, "a request cannot move to its own member");
    if (st.members[*b].role == member_role::prefill)
        return caf::make_error(engine_errc::bad_setup,
                               "cluster member " + to + " is a prefill member; requests decode elsewhere");
    if (!healthy(st.members[*b]))
        return caf::make_error(engine_errc::bad_setup, "cluster member " + to + " is not healthy");
    int32_t n = 0;
    for (auto& [stream, r] : st.routes) {
        if (r.member != *a || r.prefill_leg || r.migrate_to || r.aborted || r.ended.size() != 1 ||
            r.warms)
            continue;
        if (!request_id.empty() && r.request_id != request_id) continue;
        start_migration(self, stream, r, *b);
        ++n;
    }
    if (!request_id.empty() && n == 0)
        return caf::make_error(engine_errc::bad_setup,
                               "request " + request_id + " is not running on " + from +
                                   " (or cannot move: n > 1, or in its prefill leg)");
    return n;
}

/// Automatic rebalancing: this router's requests per member (exact, no poll lag); when
/// the busiest has more than the threshold beyond the idlest that can take them, one
/// of its requests moves there. One migration at a time, so loads settle in between.
void rebalance(router_ptr self) {
    auto& st = self->state;
    if (st.rebalance_threshold <= 0) return;
    std::vector<int64_t> load(st.members.size(), 0);
    for (const auto& [stream, r] : st.routes) {
        if (r.migrate_to) return;  // one in flight
        if (!r.prefill_leg && !r.warms) load[r.member] += 1;
    }
    std::optional<size_t> busiest, idlest;
    for (size_t i = 0; i < st.members.size(); ++i) {
        if (!healthy(st.members[i]) || st.members[i].role == member_role::prefill) continue;
        if (!busiest || load[i] > load[*busiest]) busiest = i;
        if (!idlest || load[i] < load[*idlest]) idlest = i;
    }
    if (!busiest || load[*busiest] - load[*idlest] <= st.rebalance_threshold) return;
    for (auto& [stream, r] : st.routes) {
        if (r.member != *busiest || r.prefill_leg || r.aborted || r.ended.size() != 1 || r.warms)
            continue;
        return start_migration(self, stream, r, *idlest);
    }
}

void poll_loads(router_ptr self) {
    auto& st = self->state;
    rebalance(self);
    for (size_t i = 0; i < st.members.size(); ++i) {
        // A removed member is still asked: what it finishes counts in the totals.
        if (!st.members[i].handle) continue;  // went down
        self->request(st.members[i].handle, k_stats_timeout, stats_atom_v)
            .then(
                [self, i](engine_stats& s) {
                    member_entry& m = self->state.members[i];
                    m.sent_since = 0;
                    m.last = std::move(s);
                },
                [self, i](caf::error& err) {
                    engine_stats& last = self->state.members[i].last;
                    last.healthy = false;
                    last.health_message = "no stats answer: " + self->system().render(err);
                });
    }
    self->delayed_send(self, k_load_poll, caf::tick_atom_v);
}

/// Applies one member's KV events, in order, to its part of the prefix index.
void index_events(router_ptr self, const std::vector<kv::kv_event>& events) {
    auto& st = self->state;
    const auto from = caf::actor_cast<caf::actor_addr>(self->current_sender());
    for (auto& m : st.members) {
        if (!m.handle || m.handle.address() != from) continue;
        kv::apply_kv_events(m.cached, events, "device");  // tiers are not where requests run
    }
}

/// Starts watching member `i` (just connected): its down message, and its KV events
/// when the policy indexes them.
void watch(router_ptr self, size_t i) {
    member_entry& m = self->state.members[i];
    self->monitor(m.handle);
    // Its KV events come to this actor from now on (blocks cached before are learnt
    // only as they are used again).
    if (self->state.policy->policy() == cluster::routing_policy::prefix_aware)
        self->send(m.handle, subscribe_atom_v);
}

/// Tries to reach member `i` again through the middleman's asynchronous connect, so
/// the router never blocks; on failure it tries again after k_reconnect_interval. A
/// member back on its address gets requests again after its first load poll.
void reconnect(router_ptr self, size_t i) {
    if (self->state.members[i].removed) return;
    const host_port& where = self->state.members[i].where;
    auto mm = node_connector(self->system());
    auto retry = [self, i] {
        self->delayed_send(self, k_reconnect_interval, worker_atom_v, static_cast<uint64_t>(i));
    };
    self->request(mm, std::chrono::seconds(3), caf::connect_atom::value, where.host, where.port)
        .then(
            [self, i, retry](const caf::node_id&, caf::strong_actor_ptr& ptr,
                             const std::set<std::string>&) {
                if (self->state.members[i].removed) return;  // taken out meanwhile
                if (!ptr) return retry();
                self->state.members[i].handle = caf::actor_cast<cluster_member_actor>(ptr);
                watch(self, i);
            },
            [retry](caf::error&) { retry(); });
}

/// The cluster's stats for /metrics and /health: every member's last report summed
/// (KV usage averaged; a member that went down keeps its last counters, so totals never
/// go back), healthy while any member is.
engine_stats cluster_stats(const std::vector<member_entry>& members) {
    engine_stats sum;
    sum.healthy = false;
    const auto present = std::count_if(members.begin(), members.end(),
                                       [](const member_entry& m) { return !m.removed; });
    for (const auto& m : members) {
        const engine_stats& s = m.last;
        if (!m.removed) {  // gauges: the cluster now; counters: everything it ever did
            sum.num_requests_running += s.num_requests_running;
            sum.num_requests_waiting += s.num_requests_waiting;
            sum.kv_cache_usage += s.kv_cache_usage / static_cast<double>(std::max<long>(present, 1));
            sum.kv_cache_reserved_bytes += s.kv_cache_reserved_bytes;
            sum.kv_cache_resident_bytes += s.kv_cache_resident_bytes;
        }
        sum.prompt_tokens_total += s.prompt_tokens_total;
        sum.generation_tokens_total += s.generation_tokens_total;
        sum.prefix_cache_queries_total += s.prefix_cache_queries_total;
        sum.prefix_cache_hits_total += s.prefix_cache_hits_total;
        sum.num_preemptions_total += s.num_preemptions_total;
        sum.engine_steps_total += s.engine_steps_total;
        sum.worker_busy_seconds_total += s.worker_busy_seconds_total;
        sum.worker_wait_seconds_total += s.worker_wait_seconds_total;
        sum.external_prefix_cache_queries_total += s.external_prefix_cache_queries_total;
        sum.external_prefix_cache_hits_total += s.external_prefix_cache_hits_total;
        sum.kv_connector_blocks_loaded_total += s.kv_connector_blocks_loaded_total;
        sum.kv_connector_bytes_loaded_total += s.kv_connector_bytes_loaded_total;
        sum.kv_connector_blocks_saved_total += s.kv_connector_blocks_saved_total;
        sum.kv_connector_bytes_saved_total += s.kv_connector_bytes_saved_total;
        sum.kv_connector_load_errors_total += s.kv_connector_load_errors_total;
        sum.kv_connector_save_errors_total += s.kv_connector_save_errors_total;
        sum.kv_connector_load_seconds_total += s.kv_connector_load_seconds_total;
        sum.kv_connector_save_seconds_total += s.kv_connector_save_seconds_total;
        sum.kv_connector_saves_skipped_total += s.kv_connector_saves_skipped_total;
        sum.kv_connector_evictions_total += s.kv_connector_evictions_total;
        sum.kv_connector_blocks_stored += s.kv_connector_blocks_stored;
        sum.kv_connector_bytes_stored += s.kv_connector_bytes_stored;
        core::add_spec_decode_stats(sum, s);
        if (!m.removed)
            sum.num_requests_waiting_for_remote_kvs += s.num_requests_waiting_for_remote_kvs;
        sum.healthy = sum.healthy || healthy(m);
    }
    if (!sum.healthy) sum.health_message = "no cluster member is healthy";
    return sum;
}

/// A member added while the router runs: it joins the policy's choice once its first
/// load poll answers (as a reconnected one).
caf::result<bool> adopt(router_ptr self, new_member& nm) {
    auto& st = self->state;
    member_entry& e = nm.entry;
    const bool pd_role = e.role != member_role::replica;
    if (pd_role != st.disaggregated)
        return caf::make_error(engine_errc::bad_setup,
                               std::string("this router ") +
                                   (st.disaggregated ? "is disaggregated: add prefill or decode "
                                                       "members"
                                                     : "routes over replicas: add replica "
                                                       "members"));
    size_t slot = st.members.size();
    for (size_t i = 0; i < st.members.size(); ++i) {
        if (st.members[i].address != e.address) continue;
        if (!st.members[i].removed)
            return caf::make_error(engine_errc::bad_setup,
                                   "cluster member " + e.address + " is a member already");
        slot = i;  // back after a removal: its slot (routes may still name it)
    }
    if (slot == st.members.size()) {
        st.members.push_back(std::move(e));
    } else {
        e.last = st.members[slot].last;  // its counters keep counting from there
        st.members[slot] = std::move(e);
    }
    st.members[slot].last.healthy = false;  // until its first load poll, asked now
    watch(self, slot);
    self->request(st.members[slot].handle, k_stats_timeout, stats_atom_v)
        .then([self, slot](engine_stats& s) { self->state.members[slot].last = std::move(s); },
              [](caf::error&) {});
    return true;
}

/// Takes a member out: no new requests; what it runs finishes (and still fails over to
/// an error if it dies).
caf::result<bool> remove(router_ptr self, const std::string& address) {
    for (auto& m : self->state.members)
        if (m.address == address && !m.removed) {
            m.removed = true;
            m.cached.clear();
            return true;
        }
    return caf::make_error(engine_errc::bad_setup, "no cluster member " + address);
}

std::vector<cluster_member_info> list_members(const std::vector<member_entry>& members) {
    std::vector<cluster_member_info> out;
    for (const auto& m : members) {
        if (m.removed) continue;
        cluster_member_info i;
        i.address = m.address;
        i.role = role_name(m.role);
        i.connected = static_cast<bool>(m.handle);
        i.healthy = healthy(m);
        i.num_requests_running = m.last.num_requests_running;
        i.num_requests_waiting = m.last.num_requests_waiting;
        out.push_back(std::move(i));
    }
    return out;
}

caf::behavior router_impl(router_ptr self, std::vector<member_entry> members,
                          cluster::routing_policy policy, prompt_hasher hasher,
                          int32_t pd_prompt_threshold, prompt_counter count_prompt,
                          int32_t rebalance_threshold) {
    self->state.members = std::move(members);
    self->state.pd_prompt_threshold = pd_prompt_threshold;
    self->state.rebalance_threshold = rebalance_threshold;
    self->state.count_prompt = std::move(count_prompt);
    self->state.disaggregated =
        std::any_of(self->state.members.begin(), self->state.members.end(),
                    [](const member_entry& m) { return m.role == member_role::prefill; });
    self->state.policy = std::make_unique<cluster::request_router>(policy);
    self->state.hasher = std::move(hasher);
    for (size_t i = 0; i < self->state.members.size(); ++i) watch(self, i);
    // A member that went down (process killed, host gone, heartbeat lost) ends the
    // requests it had: the caller gets an error, never a hang.
    self->set_down_handler([self](caf::down_msg& dm) {
        auto& st = self->state;
        for (size_t i = 0; i < st.members.size(); ++i) {
            member_entry& m = st.members[i];
            if (!m.handle || m.handle.address() != dm.source) continue;
            m.handle = cluster_member_actor{};
            m.last.healthy = false;
            m.last.health_message = "cluster member " + m.address + " went down";
            m.cached.clear();
            std::vector<route> unprefilled, migrating;
            std::vector<uint64_t> unwarmed;
            for (auto it = st.routes.begin(); it != st.routes.end();) {
                if (it->second.member != i) {
                    ++it;
                    continue;
                }
                if (it->second.warms) {
                    unwarmed.push_back(*it->second.warms);  // moves, pulling all it lacks
                } else if (it->second.prefill_leg) {
                    unprefilled.push_back(std::move(it->second));  // decoded without its KV
                } else if (it->second.migrate_to) {
                    migrating.push_back(std::move(it->second));  // moves without its KV
                } else {
                    fail_route(it->second, m.last.health_message);
                    st.by_request_id.erase(it->second.request_id);
                }
                it = st.routes.erase(it);
            }
            for (auto& r : unprefilled) start_decode_leg(self, std::move(r), nullptr);
            for (auto& r : migrating) continue_migrated(self, std::move(r), output_delta{});
            for (uint64_t s : unwarmed) stop_for_move(self, s);
            reconnect(self, i);
        }
    });
    self->send(self, caf::tick_atom_v);
    return {
        [self](submit_atom, submission& sub) { forward(self, sub); },
        [self](abort_atom, const std::string& request_id) {
            auto& st = self->state;
            auto it = st.by_request_id.find(request_id);
            if (it == st.by_request_id.end()) return;
            route& r = st.routes.at(it->second);
            r.aborted = true;
            if (auto& h = st.members[r.member].handle) self->send(h, abort_atom_v, it->second);
        },
        [self](delta_atom, uint64_t stream, std::vector<output_delta>& deltas) {
            deliver(self, stream, deltas);
        },
        [self](caf::tick_atom) { poll_loads(self); },
        [self](precopy_atom, uint64_t stream) { stop_for_move(self, stream); },
        [self](worker_atom, uint64_t member) { reconnect(self, static_cast<size_t>(member)); },
        [self](kv_events_atom, const std::vector<kv::kv_event>& events) {
            index_events(self, events);
        },
        [self](stats_atom) { return cluster_stats(self->state.members); },
        [self](insert_atom, new_member& nm) { return adopt(self, nm); },
        [self](release_atom, const std::string& address) { return remove(self, address); },
        [self](info_atom) { return list_members(self->state.members); },
        [self](migrate_atom, const std::string& from, const std::string& to,
               const std::string& request_id) { return migrate(self, from, to, request_id); },
    };
}

/// Connects to the member at `address` (blocking the caller, never an actor) and asks
/// what it serves.
result<member_entry> reach_member(caf::actor_system& sys, const std::string& address,
                                  member_role role, model_info* info) {
    auto hp = parse_host_port(address);
    if (!hp) return make_error("cluster member '%s': %s", address.c_str(), hp.message().c_str());
    auto handle = connect_node<cluster_member_actor>(sys, hp->host, hp->port);
    if (!handle)
        return make_error("cannot reach cluster member %s: %s", address.c_str(),
                          describe_connect_error(sys, handle.error()).c_str());
    std::string failure;
    {
        caf::scoped_actor self{sys};
        self->request(*handle, std::chrono::seconds(10), info_atom_v)
            .receive([&](model_info& i) { *info = std::move(i); },
                     [&](caf::error& err) { failure = sys.render(err); });
    }
    if (!failure.empty())
        return make_error("cluster member %s: %s", address.c_str(), failure.c_str());
    member_entry e;
    e.handle = *handle;
    e.role = role;
    e.address = address;
    e.where = *hp;
    return e;
}

/// "" when a member serving `got` can join a cluster serving `want`.
std::string check_same_model(const std::string& address, const model_info& got,
                             const model_info& want) {
    if (got.vocab_size == want.vocab_size) return {};
    return "cluster member " + address + " serves another model (vocabulary " +
           std::to_string(got.vocab_size) + ", not " + std::to_string(want.vocab_size) + ")";
}

}  // namespace

std::unique_ptr<cluster_router> cluster_router::create(const engine_config& cfg,
                                                       std::string* error) {
    auto fail = [&](const std::string& msg) -> std::unique_ptr<cluster_router> {
        if (error) *error = msg;
        return nullptr;
    };
    if (cfg.prefill_members.empty() != cfg.decode_members.empty())
        return fail(
            "a disaggregated cluster needs both prefill members (--prefill) and decode "
            "members (--decode)");
    if (!cfg.prefill_members.empty() && !cfg.cluster_members.empty())
        return fail(
            "replicas (--engine) and a disaggregated cluster (--prefill/--decode) are "
            "separate routers");
    if (cfg.cluster_members.empty() && cfg.prefill_members.empty())
        return fail("a router needs at least one cluster member");
    auto policy = cluster::parse_routing_policy(cfg.routing_policy);
    if (!policy) return fail(policy.message());
    if (!cfg.workers.empty() || !cfg.cluster_listen.empty() || !cfg.kv_transfer_config.empty())
        return fail(
            "a router runs no engine: workers, cluster_listen and kv_transfer_config "
            "belong to its members");
    auto plan = core::make_engine_plan(cfg);
    if (!plan) return fail(plan.message());
    std::unique_ptr<cluster_router> r(new cluster_router());
    r->plan_ = std::make_shared<const core::engine_plan>(std::move(plan).value());
    r->cfg_ = std::make_unique<runtime_config>();
    if (auto err = configure_node_tls(*r->cfg_, cfg.tls); !err.empty()) return fail(err);
    r->sys_ = std::make_unique<caf::actor_system>(*r->cfg_);
    auto& sys = *r->sys_;

    std::vector<std::pair<std::string, member_role>> wanted;
    for (const auto& a : cfg.cluster_members) wanted.emplace_back(a, member_role::replica);
    for (const auto& a : cfg.prefill_members) wanted.emplace_back(a, member_role::prefill);
    for (const auto& a : cfg.decode_members) wanted.emplace_back(a, member_role::decode);
    std::vector<member_entry> members;
    for (const auto& [address, role] : wanted) {
        model_info info;
        auto entry = reach_member(sys, address, role, &info);
        if (!entry) return fail(entry.message());
        if (members.empty()) {
            r->info_ = info;
        } else if (auto err = check_same_model(address, info, r->info_); !err.empty()) {
            return fail(err);
        } else {
            r->info_.max_model_len = std::min(r->info_.max_model_len, info.max_model_len);
        }
        members.push_back(std::move(*entry));
    }
    if (!cfg.served_model_name.empty()) r->info_.name = cfg.served_model_name;
    // The prompt's block hashes exactly as a member computes them: the same tokenizer,
    // chat template, block size and model-identity root (so --block-size and
    // --kv-cache-dtype must match the members').
    auto plan_ref = r->plan_;
    prompt_hasher hasher = [plan_ref](const generate_request& req) {
        std::vector<core::block_hash> hashes;
        auto tokens = core::build_prompt_tokens(req, *plan_ref->tok, plan_ref->chat.get());
        if (!tokens) return hashes;  // the member will refuse it; route it anywhere
        core::extend_block_hashes(hashes, *tokens, plan_ref->sched.block_size, req.cache_salt, {},
                                  plan_ref->sched.hash_root);
        return hashes;
    };
    prompt_counter count_prompt = [plan_ref](const generate_request& req) -> int64_t {
        auto tokens = core::build_prompt_tokens(req, *plan_ref->tok, plan_ref->chat.get());
        return tokens ? static_cast<int64_t>(tokens->size()) : -1;
    };
    r->router_ = sys.spawn(router_impl, std::move(members), *policy, std::move(hasher),
                           cfg.pd_prompt_threshold, std::move(count_prompt),
                           cfg.rebalance_threshold);
    return r;
}

cluster_router::~cluster_router() {
    if (router_) caf::anon_send_exit(router_, caf::exit_reason::user_shutdown);
}

std::string cluster_router::submit(generate_request req, delta_callback on_delta) {
    std::string id = assign_request_id(req);
    caf::anon_send(router_, submit_atom_v, submission{std::move(req), std::move(on_delta)});
    return id;
}

void cluster_router::abort(const std::string& request_id) {
    caf::anon_send(router_, abort_atom_v, request_id);
}

engine_stats cluster_router::stats() const {
    engine_stats out;
    caf::scoped_actor self{*sys_, true};
    self->request(router_, std::chrono::seconds(5), stats_atom_v)
        .receive([&](engine_stats& s) { out = std::move(s); },
                 [&](caf::error& err) {
                     out.healthy = false;
                     out.health_message = "the router did not answer: " + sys_->render(err);
                 });
    return out;
}

std::vector<cluster_member_info> cluster_router::cluster_members() const {
    std::vector<cluster_member_info> out;
    caf::scoped_actor self{*sys_, true};
    self->request(router_, std::chrono::seconds(5), info_atom_v)
        .receive([&](std::vector<cluster_member_info>& m) { out = std::move(m); },
                 [&](caf::error&) {});
    return out;
}

bool cluster_router::add_cluster_member(const std::string& address, const std::string& role,
                                        std::string* error) {
    auto fail = [&](const std::string& msg) {
        if (error) *error = msg;
        return false;
    };
    member_role r = member_role::replica;
    if (role == "prefill")
        r = member_role::prefill;
    else if (role == "decode")
        r = member_role::decode;
    else if (role != "replica")
        return fail("unknown member role '" + role + "' (replica, prefill or decode)");
    model_info got;
    auto entry = reach_member(*sys_, address, r, &got);
    if (!entry) return fail(entry.message());
    if (auto err = check_same_model(address, got, info_); !err.empty()) return fail(err);
    bool ok = false;
    caf::scoped_actor self{*sys_, true};
    self->request(router_, std::chrono::seconds(5), insert_atom_v, new_member{std::move(*entry)})
        .receive([&](bool added) { ok = added; },
                 [&](caf::error& err) { fail(sys_->render(err)); });
    return ok;
}

int32_t cluster_router::migrate_requests(const std::string& from, const std::string& to,
                                         const std::string& request_id, std::string* error) {
    int32_t n = -1;
    caf::scoped_actor self{*sys_, true};
    self->request(router_, std::chrono::seconds(5), migrate_atom_v, from, to, request_id)
        .receive([&](int32_t moved) { n = moved; },
                 [&](caf::error& err) {
                     if (error) *error = sys_->render(err);
                 });
    return n;
}

bool cluster_router::remove_cluster_member(const std::string& address, std::string* error) {
    bool ok = false;
    caf::scoped_actor self{*sys_, true};
    self->request(router_, std::chrono::seconds(5), release_atom_v, address)
        .receive([&](bool removed) { ok = removed; },
                 [&](caf::error& err) {
                     if (error) *error = sys_->render(err);
                 });
    return ok;
}

bool cluster_router::reset_prefix_cache(std::string* error) {
    if (error) *error = "a router holds no KV cache; reset each member's prefix cache instead";
    return false;
}

}  // namespace actorlm::actors

// request_routing implementation.
#include "cluster/request_routing.hpp"

namespace actorlm::cluster {

result<routing_policy> parse_routing_policy(std::string_view name) {
    if (name == "round_robin") return routing_policy::round_robin;
    if (name == "least_loaded") return routing_policy::least_loaded;
    if (name == "prefix_aware") return routing_policy::prefix_aware;
    return make_error("routing policy '%.*s' is not one of round_robin, least_loaded, prefix_aware",
                      static_cast<int>(name.size()), name.data());
}

namespace {

int64_t load_of(const member_load& m) { return m.running + m.waiting + m.sent_since; }

int least_loaded(std::span<const member_load> members) {
    int best = -1;
    for (size_t i = 0; i < members.size(); ++i) {
        const member_load& m = members[i];
        if (!m.healthy) continue;
        if (best < 0) {
            best = static_cast<int>(i);
            continue;
        }
        const member_load& b = members[static_cast<size_t>(best)];
        if (load_of(m) < load_of(b) || (load_of(m) == load_of(b) && m.kv_usage < b.kv_usage))
            best = static_cast<int>(i);
    }
    return best;
}

}  // namespace

int request_router::pick(std::span<const member_load> members) {
    const size_t n = members.size();
    if (policy_ == routing_policy::round_robin) {
        for (size_t k = 0; k < n; ++k) {
            const size_t i = (next_ + k) % n;
            if (!members[i].healthy) continue;
            next_ = (i + 1) % n;
            return static_cast<int>(i);
        }
        return -1;
    }
    const int idle = least_loaded(members);
    if (policy_ == routing_policy::least_loaded || idle < 0) return idle;
    int best = -1;
    for (size_t i = 0; i < n; ++i) {
        const member_load& m = members[i];
        if (!m.healthy || m.cached_blocks == 0) continue;
        if (load_of(m) > load_of(members[static_cast<size_t>(idle)]) + k_prefix_load_slack)
            continue;
        if (best < 0) {
            best = static_cast<int>(i);
            continue;
        }
        const member_load& b = members[static_cast<size_t>(best)];
        if (m.cached_blocks > b.cached_blocks ||
            (m.cached_blocks == b.cached_blocks && load_of(m) < load_of(b)))
            best = static_cast<int>(i);
    }
    return best >= 0 ? best : idle;
}

}  // namespace actorlm::cluster

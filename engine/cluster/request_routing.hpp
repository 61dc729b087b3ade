// request_routing: which cluster member a router sends the next request to, from
// each member's last reported load plus what this router has sent it since. CAF-free
// and deterministic, so policies are unit-tested without engines.
//   round_robin   members in turn, skipping unhealthy ones (vLLM's proxy default).
//   least_loaded  the fewest requests running + waiting (reported) + sent since that
//                 report; ties go to the lower KV-cache usage, then the lower index.
//   prefix_aware  the member holding the longest cached prefix of the request (the
//                 router's index of the members' KV events), unless it has more than
//                 k_prefix_load_slack requests beyond the least loaded; otherwise, and
//                 when no member holds any of it, least_loaded (llm-d's prefix scorer
//                 with a load guard).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.hpp"

namespace actorlm::cluster {

enum class routing_policy { round_robin, least_loaded, prefix_aware };

/// How many more requests than the least loaded member a prefix hit may cost.
inline constexpr int64_t k_prefix_load_slack = 4;

/// "round_robin", "least_loaded" or "prefix_aware"; an error names the accepted values.
result<routing_policy> parse_routing_policy(std::string_view name);

struct member_load {
    bool healthy = false;
    int64_t running = 0;        ///< as last reported
    int64_t waiting = 0;        ///< as last reported
    double kv_usage = 0.0;      ///< as last reported, 0..1
    int64_t sent_since = 0;     ///< requests this router sent it after that report
    int64_t cached_blocks = 0;  ///< leading blocks of this request it holds (prefix_aware)
};

class request_router {
public:
    explicit request_router(routing_policy policy) : policy_(policy) {}
    /// The member for the next request; -1 when none is healthy.
    int pick(std::span<const member_load> members);

    routing_policy policy() const { return policy_; }

private:
    routing_policy policy_;
    size_t next_ = 0;  // round_robin's next candidate
};

}  // namespace actorlm::cluster

// The router's policies (engine/cluster/request_routing): round_robin turns through
// the healthy members; least_loaded counts what it sent since the last report and
// breaks ties by KV usage; prefix_aware takes the longest cached prefix unless that
// member is overloaded, and falls back to least_loaded; names are checked.
#include <doctest/doctest.h>

#include <vector>

#include "cluster/request_routing.hpp"

using namespace actorlm::cluster;

namespace {

member_load idle() {
    member_load m;
    m.healthy = true;
    return m;
}

}  // namespace

TEST_CASE("request routing: round_robin turns through healthy members") {
    request_router r(routing_policy::round_robin);
    std::vector<member_load> m = {idle(), idle(), idle()};
    CHECK(r.pick(m) == 0);
    CHECK(r.pick(m) == 1);
    m[2].healthy = false;
    CHECK(r.pick(m) == 0);  // 2 is skipped
    CHECK(r.pick(m) == 1);
    for (auto& x : m) x.healthy = false;
    CHECK(r.pick(m) == -1);
}

TEST_CASE("request routing: least_loaded counts requests sent since the last report") {
    request_router r(routing_policy::least_loaded);
    std::vector<member_load> m = {idle(), idle()};
    m[0].running = 3;
    m[1].waiting = 1;
    CHECK(r.pick(m) == 1);
    m[1].sent_since = 3;  // the router's own requests, not reported yet
    CHECK(r.pick(m) == 0);
    m[0].running = 4;  // equal loads: the emptier KV cache
    m[0].kv_usage = 0.2;
    m[1].kv_usage = 0.5;
    CHECK(r.pick(m) == 0);
    m[0].healthy = false;
    CHECK(r.pick(m) == 1);
}

TEST_CASE("request routing: prefix_aware takes the longest cached prefix within the load slack") {
    request_router r(routing_policy::prefix_aware);
    std::vector<member_load> m = {idle(), idle(), idle()};
    CHECK(r.pick(m) == 0);  // nothing cached anywhere: least loaded
    m[1].cached_blocks = 2;
    m[2].cached_blocks = 5;
    CHECK(r.pick(m) == 2);
    m[2].running = k_prefix_load_slack + 1;  // too busy for its hit
    CHECK(r.pick(m) == 1);
    m[1].waiting = k_prefix_load_slack;  // at the slack: still fine
    CHECK(r.pick(m) == 1);
    m[1].sent_since = 1;  // beyond it: the least loaded member, with no hit
    CHECK(r.pick(m) == 0);
    m[0].healthy = false;  // the least loaded is gone: both hits are within slack again
    CHECK(r.pick(m) == 2);
}

TEST_CASE("request routing: policy names are checked") {
    CHECK(parse_routing_policy("prefix_aware").value() == routing_policy::prefix_aware);
    auto bad = parse_routing_policy("random");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message().find("'random'") != std::string::npos);
    CHECK(bad.message().find("prefix_aware") != std::string::npos);
}

// Two hosts on one machine: a network namespace with its own veth link stands
// for the worker's host; the engine in the root namespace reaches it over
// 10.77.x.0/30 and must give the same greedy ids as in one process. Needs root
// and iproute2 (as in CI); skipped with a message elsewhere.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>

#include "engine_fixture.hpp"
#include "worker_process.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace {

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

/// Creates netns + veth pair; removes them when it goes out of scope.
struct netns_host {
    std::string ns, veth_root, veth_ns, root_ip, ns_ip;
    bool ok = false;
    netns_host() {
        const int id = getpid() % 200 + 20;
        ns = "actorlm-test-" + std::to_string(getpid());
        veth_root = "alm" + std::to_string(getpid() % 100000) + "a";
        veth_ns = "alm" + std::to_string(getpid() % 100000) + "b";
        root_ip = "10.77." + std::to_string(id) + ".1";
        ns_ip = "10.77." + std::to_string(id) + ".2";
        ok = sh("ip netns add " + ns) == 0 &&
             sh("ip link add " + veth_root + " type veth peer name " + veth_ns) == 0 &&
             sh("ip link set " + veth_ns + " netns " + ns) == 0 &&
             sh("ip addr add " + root_ip + "/30 dev " + veth_root) == 0 &&
             sh("ip link set " + veth_root + " up") == 0 &&
             sh("ip netns exec " + ns + " ip addr add " + ns_ip + "/30 dev " + veth_ns) == 0 &&
             sh("ip netns exec " + ns + " ip link set " + veth_ns + " up") == 0 &&
             sh("ip netns exec " + ns + " ip link set lo up") == 0;
    }
    ~netns_host() {
        sh("ip link del " + veth_root);
        sh("ip netns del " + ns);
    }
};

}  // namespace

TEST_CASE("actors: a worker in another network namespace (a second host) serves greedy-exact") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    if (geteuid() != 0 || sh("ip -V") != 0) {
        MESSAGE("skipped: creating network namespaces needs root and iproute2");
        return;
    }
    netns_host host;
    if (!host.ok) {
        MESSAGE("skipped: this machine does not allow creating a network namespace + veth pair");
        return;
    }
    const std::string model = shared_path("models/stories260K.gguf");
    // Stage 0 on this host, stage 1 on the "other host" behind the veth link.
    worker_process local(model, test_port(6));
    worker_process remote(model, test_port(7), host.ns_ip, host.ns);
    REQUIRE(local.start());
    REQUIRE(remote.start());
    engine_config cfg = stories_config();
    cfg.workers = {local.address(), remote.address()};
    auto eng = start_engine(cfg);
    auto cases = load_stories_golden();
    for (const auto& g : cases) {
        auto s = eng->generate(greedy_request(g));
        CHECK(collect(s).tokens[0] == g.greedy_ids);
    }
}

// Two hosts on one machine: a network namespace with its own veth link stands
// for the worker's host; the engine in the root namespace reaches it over
// 10.77.x.0/30 and must give the same greedy ids as in one process. Needs root
// and iproute2 (as in CI); skipped with a message elsewhere.
#include <doctest/doctest.h>

#include "engine_fixture.hpp"
#include "netns_host.hpp"
#include "worker_process.hpp"

using namespace actorlm;
using namespace actorlm::test;


TEST_CASE("actors: a worker in another network namespace (a second host) serves greedy-exact") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    if (!netns_host::usable()) {
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

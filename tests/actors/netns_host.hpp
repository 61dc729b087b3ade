// netns_host: a second "host" on this machine for the multi-host tests, a network
// namespace joined to the root one by a veth pair (10.77.x.0/30). Needs root and
// iproute2; `usable()` says whether this machine allows it (tests skip otherwise).
// Removes the namespace and the link when it goes out of scope.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace actorlm::test {

/// Runs a shell command quietly; its exit status.
inline int sh(const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str());
}

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
    netns_host(const netns_host&) = delete;
    netns_host& operator=(const netns_host&) = delete;

    /// Whether namespaces can be made here (root and iproute2).
    static bool usable() { return geteuid() == 0 && sh("ip -V") == 0; }
    /// Cuts (false) or restores (true) the link, as a network partition would.
    void set_link(bool up) const {
        sh("ip link set " + veth_root + (up ? " up" : " down"));
    }
};

}  // namespace actorlm::test

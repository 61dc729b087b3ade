// host_memory: how much memory this process may still take, for sizing the KV pool when
// no budget is given: MemAvailable from /proc/meminfo, capped by the headroom its
// cgroups allow. In a container MemAvailable is the host's, and a pool sized from it
// alone gets the process OOM-killed at the cgroup's limit. Pure reads; no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.hpp"

namespace actorlm::core {

/// MemAvailable from a /proc/meminfo-formatted file, in bytes.
result<int64_t> read_mem_available_bytes(const std::string& meminfo_path = "/proc/meminfo");

/// Bytes the process's memory cgroups still allow: the least `limit - usage` over its
/// cgroup and every ancestor (cgroup v2: memory.max, memory.current), or over the memory
/// controller's cgroup (v1: memory.limit_in_bytes, memory.usage_in_bytes). Nothing when
/// no limit applies or the files are not there. `proc_self_cgroup` is /proc/self/cgroup's
/// format; `cgroup_root` is where the hierarchy is mounted.
std::optional<int64_t> read_cgroup_memory_headroom(
    const std::string& proc_self_cgroup = "/proc/self/cgroup",
    const std::string& cgroup_root = "/sys/fs/cgroup");

/// MemAvailable, capped by the cgroup headroom where a limit applies.
result<int64_t> read_usable_memory_bytes();

}  // namespace actorlm::core

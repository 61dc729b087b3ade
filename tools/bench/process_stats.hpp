// process_stats: what a soak samples of the server process from /proc (Linux):
// resident memory and open file descriptors, the two figures that show a leak of
// memory or of sockets/files over hours. Reads /proc on the caller's thread.
#pragma once

#include <cstdint>

#include "base/result.hpp"

namespace actorlm::net {

struct process_stats {
    int64_t rss_bytes = 0;  // VmRSS
    int32_t open_fds = 0;   // entries of /proc/PID/fd
};

/// Reads process `pid`'s stats; an error names the pid when it is gone or unreadable.
result<process_stats> read_process_stats(int32_t pid);

}  // namespace actorlm::net

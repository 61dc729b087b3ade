// Wall-clock intervals for statistics and benchmarks: the one place that turns a
// steady_clock start time into seconds, so every counter and report measures alike.
#pragma once

#include <chrono>

namespace actorlm {

/// Seconds from `start` to now on the monotonic clock.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace actorlm

// progress_display: shows how far a long task has come (a model's weights loading, a
// benchmark's requests) to the person waiting. On a terminal, one line redrawn in place
// (a bar, done of total, rate, ETA); otherwise (a log file, a pipe) a plain line every
// few seconds and one at the end, so that logs stay readable and a stall shows.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace actorlm::cli {

enum class progress_unit { bytes, requests };

class progress_display {
public:
    /// Writes to `out`, as a terminal when `out` is one. `what` names the task
    /// ("actorlm serve: weights").
    progress_display(std::FILE* out, std::string what, progress_unit unit);

    /// Shows `done` of `total`; the call with `complete` ends the line and later calls
    /// are ignored. Rate-limited: call it as often as convenient.
    void show(int64_t done, int64_t total, bool complete);
    void show(int64_t done, int64_t total) { show(done, total, done >= total); }

    /// "[#####-----]  42%  120.0/286.1 MiB  85.3 MiB/s  ETA 2s": what a terminal shows.
    static std::string render_bar(int64_t done, int64_t total, double elapsed_s,
                                  progress_unit unit);

private:
    using clock = std::chrono::steady_clock;
    std::FILE* out_;
    std::string what_;
    progress_unit unit_;
    bool terminal_;
    clock::time_point start_ = clock::now();
    clock::time_point last_shown_;  // a terminal draws at once, a log after one interval
    bool finished_ = false;
};

}  // namespace actorlm::cli

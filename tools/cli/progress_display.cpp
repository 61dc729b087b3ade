// progress_display implementation.
#include "progress_display.hpp"

#include <unistd.h>

#include <algorithm>

namespace actorlm::cli {

namespace {

// A terminal redraws at 10 Hz (faster only flickers); a log gets a line every 5 s.
constexpr auto k_terminal_interval = std::chrono::milliseconds(100);
constexpr auto k_log_interval = std::chrono::seconds(5);

// An amount in the unit's words: MiB for bytes, a count for requests.
double scaled(int64_t amount, progress_unit unit) {
    return unit == progress_unit::bytes ? static_cast<double>(amount) / (1024.0 * 1024.0)
                                        : static_cast<double>(amount);
}

const char* unit_name(progress_unit unit) {
    return unit == progress_unit::bytes ? "MiB" : "requests";
}

const char* rate_name(progress_unit unit) {
    return unit == progress_unit::bytes ? "MiB/s" : "req/s";
}

int percent(int64_t done, int64_t total) {
    return total > 0 ? static_cast<int>(100 * std::clamp<int64_t>(done, 0, total) / total) : 100;
}

}  // namespace

progress_display::progress_display(std::FILE* out, std::string what, progress_unit unit)
    : out_(out),
      what_(std::move(what)),
      unit_(unit),
      terminal_(isatty(fileno(out)) != 0),
      last_shown_(terminal_ ? clock::time_point{} : start_) {}

std::string progress_display::render_bar(int64_t done, int64_t total, double elapsed_s,
                                         progress_unit unit) {
    constexpr int width = 30;
    const int pct = percent(done, total);
    const int filled = pct * width / 100;
    std::string text = "[" + std::string(static_cast<size_t>(filled), '#') +
                       std::string(static_cast<size_t>(width - filled), '-') + "]";
    const double rate = elapsed_s > 0 ? scaled(done, unit) / elapsed_s : 0.0;
    char tail[160];
    if (unit == progress_unit::bytes)
        std::snprintf(tail, sizeof(tail), " %3d%%  %.1f/%.1f MiB  %.1f %s", pct,
                      scaled(done, unit), scaled(total, unit), rate, rate_name(unit));
    else
        std::snprintf(tail, sizeof(tail), " %3d%%  %lld/%lld %s  %.1f %s", pct,
                      static_cast<long long>(done), static_cast<long long>(total),
                      unit_name(unit), rate, rate_name(unit));
    text += tail;
    if (rate > 0 && done < total) {
        const double eta = (scaled(total, unit) - scaled(done, unit)) / rate;
        std::snprintf(tail, sizeof(tail), "  ETA %.0fs", eta);
        text += tail;
    }
    return text;
}

void progress_display::show(int64_t done, int64_t total, bool complete) {
    if (finished_) return;
    const auto now = clock::now();
    if (!complete && now - last_shown_ < (terminal_ ? k_terminal_interval : k_log_interval))
        return;
    last_shown_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    if (terminal_) {
        // \r and "erase to end of line": the bar replaces itself.
        std::fprintf(out_, "\r%s %s\033[K", what_.c_str(),
                     render_bar(done, total, elapsed, unit_).c_str());
        if (complete) std::fputc('\n', out_);
    } else if (unit_ == progress_unit::bytes) {
        std::fprintf(out_, "%s: %d%% (%.1f of %.1f MiB, %.1f s)\n", what_.c_str(),
                     percent(done, total), scaled(done, unit_), scaled(total, unit_), elapsed);
    } else {
        std::fprintf(out_, "%s: %d%% (%lld of %lld %s, %.1f s)\n", what_.c_str(),
                     percent(done, total), static_cast<long long>(done),
                     static_cast<long long>(total), unit_name(unit_), elapsed);
    }
    std::fflush(out_);
    finished_ = complete;
}

}  // namespace actorlm::cli

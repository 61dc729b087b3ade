// hub_model_path implementation. Progress: on a terminal one line per file redrawn at
// most ten times a second; otherwise (logs, CI) a line when a file starts, every ten
// seconds, and when it is done, so a log shows a stalled download without flooding.
#include "hub_model_path.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "net/hub/hub_model.hpp"

namespace actorlm::cli {

namespace {

using clock = std::chrono::steady_clock;

std::string megabytes(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f MB", static_cast<double>(bytes) / 1e6);
    return buf;
}

class progress_printer {
public:
    explicit progress_printer(bool tty) : tty_(tty) {}

    void operator()(const net::hub::download_progress& p) {
        const auto now = clock::now();
        if (p.file != file_) {
            file_ = p.file;
            started_ = now;
            start_bytes_ = p.done;
            // A terminal shows the bar at once; a log gets its first line after the interval.
            last_ = tty_ ? clock::time_point{} : now;
            if (!tty_)
                std::fprintf(stderr, "  %s: downloading %s\n", p.file.c_str(),
                             megabytes(p.total).c_str());
        }
        const auto interval = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10000);
        if (!p.finished && now - last_ < interval) return;
        last_ = now;
        const double seconds = std::chrono::duration<double>(now - started_).count();
        const double rate = seconds > 0 ? static_cast<double>(p.done - start_bytes_) / seconds : 0;
        const int percent = p.total > 0 ? static_cast<int>(100.0 * static_cast<double>(p.done) /
                                                           static_cast<double>(p.total))
                                        : 100;
        if (tty_) {
            const int width = 30;
            const int filled = percent * width / 100;
            std::fprintf(stderr, "\r  %-40.40s [%s%s] %3d%% %s/%s %.1f MB/s\x1b[K", p.file.c_str(),
                         std::string(static_cast<size_t>(filled), '#').c_str(),
                         std::string(static_cast<size_t>(width - filled), '.').c_str(), percent,
                         megabytes(p.done).c_str(), megabytes(p.total).c_str(), rate / 1e6);
            if (p.finished) std::fputc('\n', stderr);
        } else {
            std::fprintf(stderr, "  %s: %d%% (%s of %s, %.1f MB/s)%s\n", p.file.c_str(), percent,
                         megabytes(p.done).c_str(), megabytes(p.total).c_str(), rate / 1e6,
                         p.finished ? ", verified" : "");
        }
        std::fflush(stderr);
    }

private:
    bool tty_;
    std::string file_;
    clock::time_point started_;
    clock::time_point last_;
    uint64_t start_bytes_ = 0;
};

}  // namespace

void add_revision_option(CLI::App& app, hub_revision& revision) {
    app.add_option("--revision", revision.name,
                   "with --model ORG/NAME: the Hugging Face Hub revision (branch, tag or commit)")
        ->group("Engine options")
        ->capture_default_str();
}

bool resolve_hub_model_path(engine_config& cfg, const hub_revision& revision, const char* command) {
    std::error_code ec;
    if (cfg.model_path.empty() || std::filesystem::exists(cfg.model_path, ec)) return true;
    const auto ref = net::hub::parse_model_reference(cfg.model_path);
    if (!ref) return true;  // not a Hub name either: the loader names the missing path
    const net::hub::hub_settings settings = net::hub::hub_settings_from_environment();
    std::fprintf(stderr, "%s: %s (revision %s) from %s\n", command, ref->repo_id.c_str(),
                 revision.name.c_str(), settings.offline ? "the Hub cache" : settings.endpoint.c_str());
    progress_printer printer(isatty(STDERR_FILENO) != 0);
    auto resolved = net::hub::resolve_hub_model(*ref, revision.name, settings, std::ref(printer));
    if (!resolved) {
        std::fprintf(stderr, "%s: %s is not a local path, and as a Hugging Face Hub name: %s\n",
                     command, cfg.model_path.c_str(), resolved.message().c_str());
        return false;
    }
    if (!resolved->cache_only_reason.empty())
        std::fprintf(stderr, "%s: %s; using the cached copy\n", command,
                     resolved->cache_only_reason.c_str());
    std::fprintf(stderr, "%s: %s is %s (commit %s, %d file(s) downloaded)\n", command,
                 cfg.model_path.c_str(), resolved->path.c_str(), resolved->commit.c_str(),
                 resolved->downloaded_files);
    if (cfg.served_model_name.empty()) cfg.served_model_name = cfg.model_path;
    cfg.model_path = resolved->path;
    return true;
}

}  // namespace actorlm::cli

// hub_model_path implementation. Progress: one progress_display per file (a bar on a
// terminal; in a log, a line when a file starts, every few seconds, and when it is
// verified, so a log shows a stalled download without flooding).
#include "hub_model_path.hpp"

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "net/hub/hub_model.hpp"
#include "progress_display.hpp"

namespace actorlm::cli {

namespace {

class download_printer {
public:
    void operator()(const net::hub::download_progress& p) {
        if (p.file != file_) {
            file_ = p.file;
            display_ = std::make_unique<progress_display>(stderr, "  " + p.file,
                                                          progress_unit::bytes);
        }
        // The file is done once verified, not when its last byte arrives.
        display_->show(static_cast<int64_t>(p.done), static_cast<int64_t>(p.total), p.finished);
    }

private:
    std::string file_;
    std::unique_ptr<progress_display> display_;
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
    download_printer printer;
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

// hub_model implementation. Online, the Hub's file list is the truth: a file is taken
// from the cache only when its blob (named by the hash the Hub lists now) exists, so a
// changed file is downloaded again. Offline, the snapshot folder of the commit that
// refs/{revision} records is listed and the same selection applied to what it holds.
#include "net/hub/hub_model.hpp"

#include <algorithm>
#include <filesystem>

#include "net/hub/file_selection.hpp"
#include "net/hub/hub_api.hpp"
#include "net/hub/hub_cache.hpp"

namespace actorlm::net::hub {

namespace {

result<resolved_model> resolve_from_cache(const model_reference& ref, const std::string& revision,
                                          const hub_settings& settings, const std::string& why) {
    const hub_cache cache(settings.cache_dir, ref.repo_id);
    const auto commit = cache.commit_for(revision);
    const std::string shown = ref.repo_id + " (revision " + revision + ")";
    // Built as strings, not make_error's fixed buffer: `why` may carry a long message.
    const auto present = commit ? cache.snapshot_files(*commit) : std::vector<std::string>{};
    if (present.empty())
        return error{why + ": " + shown + " is not in the cache at " + cache.repo_dir().string(),
                     error_kind::unavailable};
    auto selected = select_model_files(ref.repo_id, ref.quant, present);
    if (!selected)
        return error{why + ", and in the cache: " + selected.message(), selected.kind()};
    for (const auto& f : selected->files)
        if (std::find(present.begin(), present.end(), f) == present.end())
            return error{why + ": the cached " + shown + " lacks " + f, error_kind::unavailable};
    resolved_model out;
    out.commit = *commit;
    out.path = (cache.snapshot_dir(*commit) / selected->model_file).string();
    if (selected->model_file.empty()) out.path = cache.snapshot_dir(*commit).string();
    out.cache_only_reason = why;
    return out;
}

}  // namespace

result<resolved_model> resolve_hub_model(const model_reference& ref, const std::string& revision,
                                         const hub_settings& settings,
                                         const progress_callback& progress) {
    if (settings.offline) return resolve_from_cache(ref, revision, settings, "HF_HUB_OFFLINE is set");
    auto info = fetch_repo_revision(settings, ref.repo_id, revision);
    if (!info) {
        // Only a Hub that cannot be reached falls back to the cache; a refusal (gated,
        // missing) is reported as it is.
        if (info.kind() == error_kind::unavailable)
            return resolve_from_cache(ref, revision, settings,
                                      "the Hub cannot be reached (" + info.message() + ")");
        return info.err();
    }
    std::vector<std::string> names;
    for (const auto& f : info->files) names.push_back(f.path);
    auto selected = select_model_files(ref.repo_id, ref.quant, names);
    if (!selected) return selected.err();
    const hub_cache cache(settings.cache_dir, ref.repo_id);
    ACTORLM_TRY(cache.prepare(info->commit));
    resolved_model out;
    out.commit = info->commit;
    for (const auto& name : selected->files) {
        const repo_file& file =
            *std::find_if(info->files.begin(), info->files.end(),
                          [&](const repo_file& f) { return f.path == name; });
        std::error_code ec;
        if (!std::filesystem::is_regular_file(cache.blob_path(file.etag()), ec)) {
            ACTORLM_TRY(download_blob(settings, cache, ref.repo_id, info->commit, file, progress));
            ++out.downloaded_files;
        }
        ACTORLM_TRY(cache.link_snapshot_file(info->commit, file.path, file.etag()));
    }
    ACTORLM_TRY(cache.write_ref(revision, info->commit));
    out.path = selected->model_file.empty()
                   ? cache.snapshot_dir(info->commit).string()
                   : (cache.snapshot_dir(info->commit) / selected->model_file).string();
    return out;
}

}  // namespace actorlm::net::hub

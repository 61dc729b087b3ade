// blob_download: one repository file into the cache's blobs/ folder, the way
// huggingface_hub does it: the bytes go to blobs/{etag}.incomplete, a partial file left
// by an interrupted run is continued with a Range request, and the file becomes
// blobs/{etag} only after its size and hash (SHA-256 for LFS files, git's blob SHA-1
// otherwise) matched what the Hub's API listed. A mismatch deletes the partial file.
// The blob's lock file (hub_cache::lock_path) is held meanwhile, as huggingface_hub holds it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.hpp"
#include "net/hub/hub_api.hpp"
#include "net/hub/hub_cache.hpp"
#include "net/hub/hub_settings.hpp"

namespace actorlm::net::hub {

/// How far one file's download is; called as bytes arrive and once with `finished`.
struct download_progress {
    std::string file;
    uint64_t done = 0;    ///< bytes on disk, a resumed part included
    uint64_t total = 0;   ///< the file's size
    bool finished = false;
};
using progress_callback = std::function<void(const download_progress&)>;

/// Tries a broken transfer this many times in one call, each continuing where the last
/// stopped.
inline constexpr int k_download_attempts = 3;

/// Downloads `file` of `repo_id` at `commit` into cache.blob_path(file.etag()) unless it
/// is there already. Errors name the repository, the file and the problem; after a
/// transport failure the partial file stays for the next run to continue.
status download_blob(const hub_settings& settings, const hub_cache& cache,
                     const std::string& repo_id, const std::string& commit, const repo_file& file,
                     const progress_callback& progress);

}  // namespace actorlm::net::hub

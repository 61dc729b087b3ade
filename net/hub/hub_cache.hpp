// hub_cache: huggingface_hub's cache layout for one model repository, so that a cache
// filled by the Python tools is used here and ours by them:
//   {cache_dir}/models--ORG--NAME/blobs/{etag}            the content, named by its hash
//   {cache_dir}/models--ORG--NAME/blobs/{etag}.incomplete a download in progress
//   {cache_dir}/models--ORG--NAME/refs/{revision}         the commit a branch/tag named
//   {cache_dir}/models--ORG--NAME/snapshots/{commit}/{file} -> ../../blobs/{etag}
//   {cache_dir}/.locks/models--ORG--NAME/{etag}.lock      held while a blob downloads
// A blob exists only once its content matched its hash (the downloader renames it into
// place), so a snapshot link is never made to unverified bytes.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace actorlm::net::hub {

/// True for a full commit hash: 40 lower-case hex digits.
bool is_commit_hash(std::string_view s);

class hub_cache {
public:
    hub_cache(const std::string& cache_dir, const std::string& repo_id);

    /// {cache_dir}/models--ORG--NAME
    const std::filesystem::path& repo_dir() const { return repo_dir_; }
    std::filesystem::path blob_path(const std::string& etag) const;
    std::filesystem::path incomplete_path(const std::string& etag) const;
    std::filesystem::path snapshot_dir(const std::string& commit) const;
    /// The file whose flock(2) serializes downloads of one blob (huggingface_hub's
    /// filelock takes the same lock, so a Python download and ours never interleave).
    std::filesystem::path lock_path(const std::string& etag) const;

    /// The commit refs/{revision} records, if any; a 40-hex revision is its own commit.
    std::optional<std::string> commit_for(const std::string& revision) const;
    /// Records refs/{revision} = commit (nothing for a revision that is a commit).
    status write_ref(const std::string& revision, const std::string& commit) const;

    /// snapshots/{commit}/{file} as a relative symbolic link to blobs/{etag}, replacing
    /// whatever was there.
    status link_snapshot_file(const std::string& commit, const std::string& file,
                              const std::string& etag) const;

    /// The files under snapshots/{commit}/ (relative paths, '/'-separated) whose target
    /// exists; empty when the snapshot is absent.
    std::vector<std::string> snapshot_files(const std::string& commit) const;

    /// Creates blobs/, refs/ and snapshots/{commit}/.
    status prepare(const std::string& commit) const;

private:
    std::filesystem::path repo_dir_;
    std::filesystem::path lock_dir_;
};

}  // namespace actorlm::net::hub

// repo_revision: what the Hub's model-info API says about one revision of a repository
// — its commit and every file with its size, git blob id and, for LFS files, the SHA-256
// a download is verified against — parsed from the API's JSON. Pure parsing of bytes
// from the network (no Beast), so the fuzzer links it alone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace actorlm::net::hub {

struct repo_file {
    std::string path;        ///< "model.safetensors", "sub/dir/file"
    uint64_t size = 0;
    std::string blob_id;     ///< git blob SHA-1 (of the LFS pointer for an LFS file)
    std::string lfs_sha256;  ///< "" when the file is not in LFS

    /// The name huggingface_hub gives its blob: the SHA-256 for LFS files, else the blob id.
    const std::string& etag() const { return lfs_sha256.empty() ? blob_id : lfs_sha256; }
};

struct repo_revision {
    std::string commit;  ///< 40 hex digits
    std::vector<repo_file> files;
};

/// Parses GET /api/models/{repo}/revision/{rev}?blobs=true's answer. Refuses an answer
/// without a 40-digit "sha", and file names that are absolute or contain ".." or '\'
/// (they become paths in the cache). Errors name the repository.
result<repo_revision> parse_repo_revision(std::string_view json, const std::string& repo_id);

}  // namespace actorlm::net::hub

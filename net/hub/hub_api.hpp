// hub_api: the Hub's model-info call, GET {endpoint}/api/models/{repo}/revision/{rev}
// ?blobs=true: the commit a revision names and every file with its size, git blob id and,
// for LFS files, the SHA-256 the download is verified against. Its failures become the
// messages huggingface_hub's errors carry (gated, missing repository, missing revision,
// bad token), each naming the repository. Also the URL of one file's content.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "net/hub/hub_settings.hpp"
#include "net/hub/http_download.hpp"

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

/// The revision's commit and files, from the Hub's API.
result<repo_revision> fetch_repo_revision(const hub_settings& settings, const std::string& repo_id,
                                          const std::string& revision);

/// Parses the API's JSON answer (exposed for tests and the fuzzer's sake).
result<repo_revision> parse_repo_revision(std::string_view json, const std::string& repo_id);

/// {endpoint}/{repo}/resolve/{commit}/{path}, each part URL-encoded.
std::string file_url(const hub_settings& settings, const std::string& repo_id,
                     const std::string& commit, const std::string& path);

/// What a failed Hub request asked for: the repository's file list, or one file.
enum class hub_request_kind { repository, file };

/// The message for a non-2xx answer about `what` (a revision or a file of the
/// repository), from the status and the Hub's X-Error-Code / X-Error-Message headers.
error hub_http_error(const http_get_response& response, const std::string& repo_id,
                     hub_request_kind kind, const std::string& what, bool token_sent);

}  // namespace actorlm::net::hub

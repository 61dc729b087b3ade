// hub_api: the Hub's HTTP endpoints — the model-info call, GET {endpoint}/api/models/
// {repo}/revision/{rev}?blobs=true (its answer parsed by repo_revision), and the URL of
// one file's content — and the messages huggingface_hub's errors carry for a refused
// request (gated, missing repository, missing revision or file, bad token), each naming
// the repository.
#pragma once

#include <string>

#include "base/result.hpp"
#include "net/hub/hub_settings.hpp"
#include "net/hub/http_download.hpp"
#include "net/hub/repo_revision.hpp"

namespace actorlm::net::hub {

/// The revision's commit and files, from the Hub's API.
result<repo_revision> fetch_repo_revision(const hub_settings& settings, const std::string& repo_id,
                                          const std::string& revision);

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

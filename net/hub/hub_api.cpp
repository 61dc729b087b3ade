// hub_api implementation. The error mapping follows huggingface_hub's
// hf_raise_for_status: X-Error-Code "GatedRepo", "RepoNotFound", "RevisionNotFound",
// "EntryNotFound" first, then the status (401/403 without a code: authentication; 404).
// The Hub answers 401 RepoNotFound for private repositories too, so that message says so.
#include "net/hub/hub_api.hpp"


namespace actorlm::net::hub {

namespace {

// Percent-encodes everything but RFC 3986's unreserved characters; `keep_slash` for
// file paths (a '/' separates their folders), not for revisions ("refs/pr/1").
std::string url_quote(std::string_view s, bool keep_slash) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                                c == '~' || (keep_slash && c == '/');
        if (unreserved) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += k_hex[c >> 4];
            out += k_hex[c & 15];
        }
    }
    return out;
}

}  // namespace

std::string file_url(const hub_settings& settings, const std::string& repo_id,
                     const std::string& commit, const std::string& path) {
    return settings.endpoint + "/" + repo_id + "/resolve/" + url_quote(commit, false) + "/" +
           url_quote(path, true);
}

error hub_http_error(const http_get_response& response, const std::string& repo_id,
                     hub_request_kind kind, const std::string& what, bool token_sent) {
    const std::string code = response.header("x-error-code");
    const std::string detail = response.header("x-error-message");
    const std::string status = "HTTP " + std::to_string(response.status);
    const std::string page = " (https://huggingface.co/" + repo_id + ")";
    std::string message;
    if (code == "GatedRepo") {
        message = "repository " + repo_id + " is gated: accept its conditions on its page" + page +
                  (token_sent ? " with the account of HF_TOKEN" : " and set HF_TOKEN") + " (" +
                  status + ")";
    } else if (code == "RepoNotFound" ||
               (code.empty() && response.status == 404 && kind == hub_request_kind::repository)) {
        message = "repository " + repo_id + " was not found on the Hub (" + status + ")" +
                  (token_sent ? "; check the name, and that HF_TOKEN may read it"
                              : "; check the name; a private repository needs HF_TOKEN");
    } else if (code == "RevisionNotFound") {
        message = what + " was not found in " + repo_id + " (" + status + ")";
    } else if (code == "EntryNotFound" || response.status == 404) {
        message = what + " was not found in " + repo_id + " (" + status + ")";
    } else if (response.status == 401 || response.status == 403) {
        message = repo_id + ": " +
                  (token_sent ? "HF_TOKEN was refused or may not read this repository"
                              : "the Hub asks for authentication: set HF_TOKEN") +
                  " (" + status + ")";
    } else {
        message = repo_id + " " + what + ": the Hub answered " + status + " " + response.reason;
    }
    if (!detail.empty()) message += ": " + detail;
    return error{message, error_kind::invalid_argument};
}

result<repo_revision> fetch_repo_revision(const hub_settings& settings, const std::string& repo_id,
                                          const std::string& revision) {
    http_get_request req;
    req.url = settings.endpoint + "/api/models/" + repo_id + "/revision/" +
              url_quote(revision, false) + "?blobs=true";
    req.bearer_token = settings.token;
    req.connect_timeout = settings.connect_timeout;
    req.read_timeout = settings.read_timeout;
    std::string body;
    auto res = http_get_text(req, &body);
    if (!res) return res.err();
    if (res->status < 200 || res->status >= 300)
        return hub_http_error(*res, repo_id, hub_request_kind::repository,
                              "revision '" + revision + "'", !settings.token.empty());
    return parse_repo_revision(body, repo_id);
}

}  // namespace actorlm::net::hub

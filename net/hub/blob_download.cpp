// blob_download implementation. The partial file is opened for appending when the server
// honours the Range (206) and truncated when it sends the whole file again (200); a 416
// for a partial file that already has every byte goes straight to verification. Progress
// is reported per received piece; the caller decides how often to print.
#include "net/hub/blob_download.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>
#include <utility>

#include "net/hub/file_digest.hpp"
#include "net/hub/http_download.hpp"

namespace actorlm::net::hub {

namespace fs = std::filesystem;

namespace {

using file_handle = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

// An exclusive flock(2) on the blob's lock file, held for the whole download: another
// process (ours or huggingface_hub's) waits, then finds the blob in place.
class blob_lock {
public:
    static result<blob_lock> acquire(const fs::path& path) {
        std::error_code ec;
        fs::create_directories(path.parent_path(), ec);
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return make_error("cannot open the lock %s: %s", path.c_str(), std::strerror(errno));
        int rc = 0;
        while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
        }
        if (rc != 0) {
            const int saved = errno;
            ::close(fd);
            return make_error("cannot lock %s: %s", path.c_str(), std::strerror(saved));
        }
        return blob_lock(fd);
    }
    blob_lock(blob_lock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    blob_lock& operator=(blob_lock&&) = delete;
    ~blob_lock() {
        if (fd_ >= 0) ::close(fd_);  // releases the lock
    }

private:
    explicit blob_lock(int fd) : fd_(fd) {}
    int fd_;
};

// Checks a complete partial file against the hash the Hub listed.
status verify_download(const std::string& repo_id, const repo_file& file, const fs::path& path) {
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return make_error("%s/%s: cannot read the download: %s", repo_id.c_str(),
                              file.path.c_str(), ec.message().c_str());
    if (size != file.size)
        return make_error("%s/%s: downloaded %llu bytes, the Hub lists %llu; the partial file "
                          "was removed, run again to download it anew",
                          repo_id.c_str(), file.path.c_str(), static_cast<unsigned long long>(size),
                          static_cast<unsigned long long>(file.size));
    const bool lfs = !file.lfs_sha256.empty();
    auto digest = lfs ? sha256_of_file(path.string()) : git_blob_sha1_of_file(path.string());
    if (!digest) return digest.err();
    if (*digest != file.etag())
        return make_error("%s/%s is corrupt: its %s is %s, the Hub lists %s; the download was "
                          "removed, run again to download it anew",
                          repo_id.c_str(), file.path.c_str(), lfs ? "sha256" : "git blob sha1",
                          digest->c_str(), file.etag().c_str());
    return {};
}

}  // namespace

status download_blob(const hub_settings& settings, const hub_cache& cache,
                     const std::string& repo_id, const std::string& commit, const repo_file& file,
                     const progress_callback& progress) {
    if (file.etag().empty())
        return make_error("%s/%s: the Hub lists no hash for it, so it cannot be verified",
                          repo_id.c_str(), file.path.c_str());
    const fs::path blob = cache.blob_path(file.etag());
    std::error_code ec;
    if (fs::is_regular_file(blob, ec)) return {};
    auto lock = blob_lock::acquire(cache.lock_path(file.etag()));
    if (!lock) return lock.err();
    if (fs::is_regular_file(blob, ec)) return {};  // another process fetched it meanwhile
    const fs::path partial = cache.incomplete_path(file.etag());
    download_progress shown{file.path, 0, file.size, false};
    std::string last_failure;
    for (int attempt = 0; attempt < k_download_attempts; ++attempt) {
        uint64_t have = fs::exists(partial, ec) ? fs::file_size(partial, ec) : 0;
        if (ec || have > file.size) {
            fs::remove(partial, ec);
            have = 0;
        }
        if (have < file.size || !fs::exists(partial, ec)) {
            http_get_request req;
            req.url = file_url(settings, repo_id, commit, file.path);
            req.bearer_token = settings.token;
            req.range_start = have;
            req.connect_timeout = settings.connect_timeout;
            req.read_timeout = settings.read_timeout;
            file_handle out(nullptr, &std::fclose);
            auto open_for = [&](unsigned http_status) -> status {
                // 206: the server continues the partial file; anything else is whole.
                out.reset(std::fopen(partial.c_str(), http_status == 206 ? "ab" : "wb"));
                if (!out)
                    return make_error("cannot write %s: %s", partial.c_str(), std::strerror(errno));
                shown.done = http_status == 206 ? have : 0;
                return {};
            };
            auto res = http_get(req, [&](const http_get_response& head,
                                         std::string_view bytes) -> status {
                if (!out) ACTORLM_TRY(open_for(head.status));
                if (std::fwrite(bytes.data(), 1, bytes.size(), out.get()) != bytes.size())
                    return make_error("cannot write %s: %s", partial.c_str(), std::strerror(errno));
                shown.done += bytes.size();
                if (progress) progress(shown);
                return {};
            });
            if (!res) {  // a transport failure: what arrived stays, the next try continues
                last_failure = res.message();
                continue;
            }
            const unsigned code = res->status;
            if (code == 416 && have == file.size) {
                // Every byte was there already: verify below.
            } else if (code == 416) {
                // The partial file does not fit what the server has: start anew.
                fs::remove(partial, ec);
                last_failure = "the server refused to continue the partial file (HTTP 416)";
                continue;
            } else if (code < 200 || code >= 300) {
                return hub_http_error(*res, repo_id, hub_request_kind::file, file.path,
                                      !settings.token.empty());
            } else if (!out) {
                ACTORLM_TRY(open_for(code));  // an empty body (a zero-byte file)
            }
            out.reset();
        }
        if (status st = verify_download(repo_id, file, partial); !st) {
            fs::remove(partial, ec);
            return st;
        }
        fs::rename(partial, blob, ec);
        if (ec)
            return make_error("%s/%s: cannot move the download to %s: %s", repo_id.c_str(),
                              file.path.c_str(), blob.c_str(), ec.message().c_str());
        shown.done = file.size;
        shown.finished = true;
        if (progress) progress(shown);
        return {};
    }
    return error{repo_id + "/" + file.path + ": the download failed " +
                     std::to_string(k_download_attempts) + " times (" + last_failure +
                     "); run again to continue it",
                 error_kind::unavailable};
}

}  // namespace actorlm::net::hub

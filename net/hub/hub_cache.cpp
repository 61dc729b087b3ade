// hub_cache implementation. Links are relative (../../blobs/x, one more ../ per folder
// of the file's path) as huggingface_hub makes them, so the cache can be moved. Refs
// are written to a temporary file and renamed: a reader never sees half a hash.
#include "net/hub/hub_cache.hpp"

#include <unistd.h>

#include <fstream>

namespace actorlm::net::hub {

namespace fs = std::filesystem;

bool is_commit_hash(std::string_view s) {
    if (s.size() != 40) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

namespace {

std::string folder_name(const std::string& repo_id) {
    std::string name = "models--";
    for (char c : repo_id) {
        if (c == '/')
            name += "--";
        else
            name += c;
    }
    return name;
}

}  // namespace

hub_cache::hub_cache(const std::string& cache_dir, const std::string& repo_id)
    : repo_dir_(fs::path(cache_dir) / folder_name(repo_id)),
      lock_dir_(fs::path(cache_dir) / ".locks" / folder_name(repo_id)) {}

fs::path hub_cache::lock_path(const std::string& etag) const { return lock_dir_ / (etag + ".lock"); }

fs::path hub_cache::blob_path(const std::string& etag) const { return repo_dir_ / "blobs" / etag; }

fs::path hub_cache::incomplete_path(const std::string& etag) const {
    return repo_dir_ / "blobs" / (etag + ".incomplete");
}

fs::path hub_cache::snapshot_dir(const std::string& commit) const {
    return repo_dir_ / "snapshots" / commit;
}

std::optional<std::string> hub_cache::commit_for(const std::string& revision) const {
    if (is_commit_hash(revision)) return revision;
    std::ifstream in(repo_dir_ / "refs" / revision);
    std::string commit;
    if (!in || !std::getline(in, commit)) return std::nullopt;
    while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r' || commit.back() == ' '))
        commit.pop_back();
    if (!is_commit_hash(commit)) return std::nullopt;
    return commit;
}

status hub_cache::write_ref(const std::string& revision, const std::string& commit) const {
    if (revision == commit) return {};
    const fs::path ref = repo_dir_ / "refs" / revision;
    std::error_code ec;
    fs::create_directories(ref.parent_path(), ec);  // "refs/pr/1" has a folder
    const fs::path tmp = ref.string() + ".tmp" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << commit;  // no newline, as huggingface_hub writes it
        if (!out) return make_error("cannot write %s", tmp.c_str());
    }
    fs::rename(tmp, ref, ec);
    if (ec) return make_error("cannot write %s: %s", ref.c_str(), ec.message().c_str());
    return {};
}

status hub_cache::prepare(const std::string& commit) const {
    std::error_code ec;
    for (const fs::path& dir : {repo_dir_ / "blobs", repo_dir_ / "refs", snapshot_dir(commit)}) {
        fs::create_directories(dir, ec);
        if (ec) return make_error("cannot create %s: %s", dir.c_str(), ec.message().c_str());
    }
    return {};
}

status hub_cache::link_snapshot_file(const std::string& commit, const std::string& file,
                                     const std::string& etag) const {
    const fs::path link = snapshot_dir(commit) / file;
    std::error_code ec;
    fs::create_directories(link.parent_path(), ec);
    if (ec) return make_error("cannot create %s: %s", link.parent_path().c_str(), ec.message().c_str());
    // snapshots/{commit}/a/b/file -> ../../../blobs/{etag}: one "../" per folder above.
    const fs::path target = blob_path(etag).lexically_relative(link.parent_path());
    fs::remove(link, ec);
    fs::create_symlink(target, link, ec);
    if (ec) return make_error("cannot link %s to %s: %s", link.c_str(), target.c_str(),
                              ec.message().c_str());
    return {};
}

std::vector<std::string> hub_cache::snapshot_files(const std::string& commit) const {
    std::vector<std::string> files;
    const fs::path root = snapshot_dir(commit);
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return files;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (fs::is_regular_file(it->path(), ec))  // follows the link: its blob exists
            files.push_back(it->path().lexically_relative(root).generic_string());
    }
    return files;
}

}  // namespace actorlm::net::hub

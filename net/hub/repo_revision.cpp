// repo_revision implementation: simdjson's DOM; a missing optional field (size, blobId,
// lfs) leaves its default, so the API's older or leaner answers still parse.
#include "net/hub/repo_revision.hpp"

#include <simdjson.h>

#include "net/hub/hub_cache.hpp"

namespace actorlm::net::hub {

result<repo_revision> parse_repo_revision(std::string_view json, const std::string& repo_id) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS)
        return make_error("the Hub's answer about %s is not JSON", repo_id.c_str());
    repo_revision rev;
    std::string_view sha;
    if (doc["sha"].get(sha) != simdjson::SUCCESS || !is_commit_hash(sha))
        return make_error("the Hub's answer about %s has no commit hash ('sha')", repo_id.c_str());
    rev.commit = std::string(sha);
    simdjson::dom::array siblings;
    if (doc["siblings"].get(siblings) != simdjson::SUCCESS)
        return make_error("the Hub's answer about %s lists no files ('siblings')", repo_id.c_str());
    for (simdjson::dom::element s : siblings) {
        repo_file f;
        std::string_view name;
        if (s["rfilename"].get(name) != simdjson::SUCCESS || name.empty())
            return make_error("the Hub's answer about %s has a file without a name",
                              repo_id.c_str());
        f.path = std::string(name);
        // Never trust a server with our file system: no absolute paths, no "..".
        if (f.path.front() == '/' || f.path.find("..") != std::string::npos ||
            f.path.find('\\') != std::string::npos)
            return make_error("the Hub's answer about %s names an unsafe path '%s'",
                              repo_id.c_str(), f.path.c_str());
        uint64_t size = 0;
        if (s["size"].get(size) == simdjson::SUCCESS) f.size = size;
        std::string_view blob;
        if (s["blobId"].get(blob) == simdjson::SUCCESS) f.blob_id = std::string(blob);
        simdjson::dom::element lfs;
        if (s["lfs"].get(lfs) == simdjson::SUCCESS && lfs.is_object()) {
            std::string_view oid;
            if (lfs["sha256"].get(oid) == simdjson::SUCCESS) f.lfs_sha256 = std::string(oid);
            if (lfs["size"].get(size) == simdjson::SUCCESS) f.size = size;
        }
        rev.files.push_back(std::move(f));
    }
    return rev;
}

}  // namespace actorlm::net::hub

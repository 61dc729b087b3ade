// host_memory implementation: /proc/meminfo and the cgroup v2 / v1 memory files.
#include "core/host_memory.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace actorlm::core {

namespace {

/// A file's first token as a byte count; nothing for "max", a missing file or garbage.
std::optional<int64_t> read_bytes_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string word;
    if (!(in >> word) || word == "max") return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(word.c_str(), &end, 10);
    if (errno != 0 || end == word.c_str() || *end != '\0' || v < 0) return std::nullopt;
    return static_cast<int64_t>(v);
}

/// `limit - usage` in `dir`, floored at 0; nothing without a limit.
std::optional<int64_t> headroom_in(const std::filesystem::path& dir, const char* limit_file,
                                   const char* usage_file) {
    const auto limit = read_bytes_file(dir / limit_file);
    // cgroup v1 writes "no limit" as a huge number near INT64_MAX rounded to pages.
    if (!limit || *limit >= (int64_t{1} << 60)) return std::nullopt;
    const int64_t usage = read_bytes_file(dir / usage_file).value_or(0);
    return std::max<int64_t>(*limit - usage, 0);
}

}  // namespace

result<int64_t> read_mem_available_bytes(const std::string& meminfo_path) {
    std::FILE* f = std::fopen(meminfo_path.c_str(), "r");
    if (!f) return make_error("cannot open %s: %s", meminfo_path.c_str(), std::strerror(errno));
    char line[256];
    long long kib = -1;
    while (std::fgets(line, sizeof(line), f)) {
        if (std::sscanf(line, "MemAvailable: %lld kB", &kib) == 1) break;
        kib = -1;
    }
    std::fclose(f);
    if (kib < 0) return make_error("%s has no 'MemAvailable: N kB' line", meminfo_path.c_str());
    return static_cast<int64_t>(kib) * 1024;
}

std::optional<int64_t> read_cgroup_memory_headroom(const std::string& proc_self_cgroup,
                                                   const std::string& cgroup_root) {
    namespace fs = std::filesystem;
    std::ifstream in(proc_self_cgroup);
    std::string line;
    std::optional<int64_t> least;
    auto take = [&](std::optional<int64_t> h) {
        if (h) least = least ? std::min(*least, *h) : *h;
    };
    while (std::getline(in, line)) {
        // "hierarchy-id:controllers:path"; v2 is "0::/path".
        const auto a = line.find(':');
        const auto b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        const std::string controllers = line.substr(a + 1, b - a - 1);
        const fs::path rel = fs::path(line.substr(b + 1)).relative_path();
        if (line.compare(0, a, "0") == 0 && controllers.empty()) {
            // v2: a limit anywhere above also binds, so walk up to the root.
            for (fs::path p = rel;; p = p.parent_path()) {
                take(headroom_in(fs::path(cgroup_root) / p, "memory.max", "memory.current"));
                if (p.empty()) break;
            }
        } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
            take(headroom_in(fs::path(cgroup_root) / "memory" / rel, "memory.limit_in_bytes",
                             "memory.usage_in_bytes"));
        }
    }
    return least;
}

result<int64_t> read_usable_memory_bytes() {
    auto available = read_mem_available_bytes();
    if (!available) return available;
    if (const auto headroom = read_cgroup_memory_headroom())
        return std::min(*available, *headroom);
    return available;
}

}  // namespace actorlm::core

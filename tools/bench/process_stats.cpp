// process_stats: VmRSS from /proc/PID/status (kB) and a count of /proc/PID/fd.
#include "bench/process_stats.hpp"

#include <filesystem>
#include <fstream>
#include <string>

namespace actorlm::net {

result<process_stats> read_process_stats(int32_t pid) {
    const std::filesystem::path proc = "/proc/" + std::to_string(pid);
    std::ifstream status_file(proc / "status");
    if (!status_file)
        return make_error("cannot read /proc/%d/status: no such process", static_cast<int>(pid));
    process_stats out;
    bool found_rss = false;
    for (std::string line; std::getline(status_file, line);) {
        if (line.rfind("VmRSS:", 0) != 0) continue;
        out.rss_bytes = std::stoll(line.substr(6)) * 1024;  // "VmRSS:   12345 kB"
        found_rss = true;
        break;
    }
    if (!found_rss)
        return make_error("/proc/%d/status has no VmRSS line (a zombie?)", static_cast<int>(pid));
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(proc / "fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++out.open_fds;
    if (ec)
        return make_error("cannot list /proc/%d/fd: %s", static_cast<int>(pid),
                          ec.message().c_str());
    return out;
}

}  // namespace actorlm::net

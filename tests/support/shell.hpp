// shell: runs a shell command the way the CLI tests need it — its stdout and stderr
// together, and its exit status (-1 when it did not exit normally).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace actorlm::test {

struct shell_result {
    int status = -1;
    std::string output;  // stdout and stderr, interleaved as written
};

inline shell_result run_shell(const std::string& command) {
    shell_result r;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return r;
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) r.output.append(buf, n);
    const int status = pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

}  // namespace actorlm::test

// A fresh, empty directory under the system temp dir for one test, named after the
// test and this process (parallel ctest runs never share one). The caller removes it.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace actorlm::test {

inline std::filesystem::path fresh_temp_dir(const std::string& name) {
    auto p = std::filesystem::temp_directory_path() /
             ("actorlm-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(p);
    return p;
}

/// A path for one temporary file, private to this process: parallel ctest runs of the
/// same suite write their own (one process rewriting a file another has mapped would
/// kill it with SIGBUS).
inline std::filesystem::path temp_path(const std::string& name) {
    return std::filesystem::temp_directory_path() /
           ("actorlm-" + std::to_string(::getpid()) + "-" + name);
}

}  // namespace actorlm::test

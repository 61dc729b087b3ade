// Paths into ../shared (read-only reference data). Tests that need it call
// ACTORLM_REQUIRE_SHARED(path) and skip with a clear message when it is absent.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace actorlm::test {

inline std::string shared_path(const std::string& rel) {
    // Built by appending: g++ 12 warns (-Warray-bounds, a false positive) on
    // std::string(literal) + "/" + rel once inlined.
    std::string path = ACTORLM_SHARED_DIR;
    path += '/';
    path += rel;
    return path;
}

/// The whole file as bytes; empty when it cannot be read.
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace actorlm::test

#define ACTORLM_REQUIRE_SHARED(rel)                                                       \
    do {                                                                                  \
        if (!std::filesystem::exists(actorlm::test::shared_path(rel))) {                  \
            MESSAGE("skipped: " << actorlm::test::shared_path(rel)                        \
                                << " is absent (the ../shared data folder is not here)"); \
            return;                                                                       \
        }                                                                                 \
    } while (0)

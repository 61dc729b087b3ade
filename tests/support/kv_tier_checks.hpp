// What the KV-tier tests count: a disk tier's block files and the block events of one
// kind from one medium.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "kv/kv_connector.hpp"

namespace actorlm::test {

/// Block files (`*.kvb`) under a disk tier's directory; 0 when it does not exist.
inline int count_block_files(const std::filesystem::path& dir) {
    int n = 0;
    if (!std::filesystem::exists(dir)) return 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        n += e.path().extension() == ".kvb";
    return n;
}

/// Blocks named by the events of kind `k` from `medium`.
inline int count_events(const std::vector<kv::kv_event>& events, kv::kv_event::kind k,
                        const std::string& medium) {
    int n = 0;
    for (const auto& e : events)
        if (e.type == k && e.medium == medium) n += static_cast<int>(e.block_hashes.size());
    return n;
}

}  // namespace actorlm::test

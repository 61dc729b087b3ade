// libFuzzer target: the Hugging Face Hub's model-info answer (JSON, from the network) and
// a model reference, parts separated by a NUL byte. The answer's file names go through
// the file selection as the download would. Properties: nothing crashes or trips a
// sanitizer; an accepted answer has a 40-digit commit and only relative paths without
// "..", and a selection names only files the answer listed.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.hpp"
#include "net/hub/file_selection.hpp"
#include "net/hub/repo_revision.hpp"
#include "net/hub/model_reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace actorlm::net::hub;
    using actorlm::fuzz::require;
    const auto parts =
        actorlm::fuzz::split_parts(std::string_view(reinterpret_cast<const char*>(data), size), 2);
    const auto ref = parse_model_reference(parts[1]);
    const std::string repo_id = ref ? ref->repo_id : "org/name";
    auto rev = parse_repo_revision(parts[0], repo_id);
    if (!rev) return 0;
    require(rev->commit.size() == 40);
    std::vector<std::string> names;
    for (const auto& f : rev->files) {
        require(!f.path.empty() && f.path.front() != '/' && f.path.find("..") == std::string::npos);
        names.push_back(f.path);
    }
    if (auto picked = select_model_files(repo_id, ref ? ref->quant : "", names)) {
        for (const auto& f : picked->files)
            require(std::find(names.begin(), names.end(), f) != names.end());
    }
    return 0;
}

// Shared helpers for the tokenizer tests: llama.cpp's test-vector files (.inp cases split by
// "\n__ggml_vocab_test__\n", .out one line of expected ids per case) and a loader cache so
// each tokenizer file is parsed once per test run.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/shared_data.hpp"
#include "tokenizer/tokenizer.hpp"
#include "support/temp_dir.hpp"

namespace actorlm::test {

struct vector_case {
    std::string text;
    std::vector<int32_t> ids;
};

/// Writes `json` to tokenizer.json in a fresh temporary directory named after `name`
/// and loads it as a Hugging Face tokenizer.
inline result<std::unique_ptr<tokenizer>> load_tokenizer_json(const std::string& name,
                                                              const std::string& json) {
    const auto dir = temp_path("tok_" + name);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "tokenizer.json") << json;
    return tokenizer::from_hf((dir / "tokenizer.json").string());
}

/// Reads `<path>.inp` / `<path>.out` (`path` as given, e.g. under tests/data).
inline std::vector<vector_case> read_vectors_at(const std::string& path) {
    const std::string inp = read_file(path + ".inp");
    const std::string out = read_file(path + ".out");
    std::vector<vector_case> cases;
    const std::string sep = "\n__ggml_vocab_test__\n";
    size_t pos = 0;
    while (true) {
        const size_t next = inp.find(sep, pos);
        if (next == std::string::npos) break;
        cases.push_back({inp.substr(pos, next - pos), {}});
        pos = next + sep.size();
    }
    std::istringstream lines(out);
    std::string line;
    for (auto& c : cases) {
        if (!std::getline(lines, line)) break;
        std::istringstream ids(line);
        int32_t id = 0;
        while (ids >> id) c.ids.push_back(id);
    }
    return cases;
}

/// Reads `<base>.inp` / `<base>.out` (base relative to ../shared).
inline std::vector<vector_case> read_vectors(const std::string& base) {
    return read_vectors_at(shared_path(base));
}

/// A tokenizer loaded once per process (loading Llama-3's 9 MB file takes a moment).
inline const tokenizer* cached_tokenizer(const std::string& rel_path) {
    static std::map<std::string, std::unique_ptr<tokenizer>> cache;
    auto it = cache.find(rel_path);
    if (it != cache.end()) return it->second.get();
    auto t = load_tokenizer_for_model(shared_path(rel_path));
    REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.message()));
    return (cache[rel_path] = std::move(t.value())).get();
}

inline std::string ids_to_string(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) {
        if (!s.empty()) s.push_back(' ');
        s.append(std::to_string(id));
    }
    return s;
}

/// Encodes every case without BOS or special parsing; returns the number that match.
inline size_t check_vectors(const tokenizer& tok, const std::vector<vector_case>& cases) {
    size_t passed = 0;
    for (const auto& c : cases) {
        const auto ids = tok.encode(c.text, false, false);
        if (ids == c.ids) {
            ++passed;
        } else {
            FAIL_CHECK("text '" << c.text << "': got [" << ids_to_string(ids) << "] expected ["
                                << ids_to_string(c.ids) << "]");
        }
    }
    MESSAGE(passed << "/" << cases.size() << " cases pass");
    return passed;
}

}  // namespace actorlm::test

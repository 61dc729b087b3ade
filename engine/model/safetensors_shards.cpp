// safetensors_shards implementation. Shard names must be plain file names: an index
// that points elsewhere ('../x', '/etc/x') is refused, never followed.
#include "model/safetensors_shards.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <simdjson.h>

namespace actorlm {

result<std::vector<std::string>> safetensors_shard_files(const std::string& dir_name) {
    namespace fs = std::filesystem;
    const fs::path dir(dir_name);
    const fs::path index = dir / "model.safetensors.index.json";
    if (!fs::exists(index)) {
        if (fs::exists(dir / "model.safetensors"))
            return std::vector<std::string>{"model.safetensors"};
        return make_error(error_kind::invalid_argument,
                          "%s: no model.safetensors or model.safetensors.index.json",
                          dir.string().c_str());
    }
    std::ifstream in(index, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    simdjson::dom::parser parser;
    simdjson::dom::object root, map;
    if (parser.parse(s.data(), s.size(), true).get(root) || root["weight_map"].get(map))
        return make_error(error_kind::invalid_argument,
                          "%s: not a JSON object with a 'weight_map'", index.string().c_str());
    std::set<std::string> files;
    for (auto kv : map) {
        std::string_view file;
        if (kv.value.get(file))
            return make_error(error_kind::invalid_argument,
                              "%s: weight_map values must be file names", index.string().c_str());
        if (file.empty() || file.find('/') != std::string_view::npos ||
            file.find('\\') != std::string_view::npos || file == "." || file == "..")
            return make_error(error_kind::invalid_argument,
                              "%s: shard name '%.*s' is not a plain file name",
                              index.string().c_str(), int(file.size()), file.data());
        files.emplace(file);
    }
    if (files.empty())
        return make_error(error_kind::invalid_argument, "%s: empty weight_map",
                          index.string().c_str());
    return std::vector<std::string>(files.begin(), files.end());
}

}  // namespace actorlm

// The Hugging Face path of model_loader: config.json via hf_config, tensors from
// model.safetensors or the shards named by model.safetensors.index.json, bound
// as zero-copy views (1-D tensors converted to F32). Q/K stay in HF's NeoX layout.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <simdjson.h>

#include "model/hf_config.hpp"
#include "model/model_loader.hpp"
#include "model/safetensors_file.hpp"
#include "model/weight_binding.hpp"

namespace actorlm {

namespace {

namespace fs = std::filesystem;

// The shard files of the checkpoint: the index's weight_map values, or model.safetensors.
result<std::vector<std::string>> shard_files(const fs::path& dir) {
    fs::path index = dir / "model.safetensors.index.json";
    if (!fs::exists(index)) {
        if (fs::exists(dir / "model.safetensors"))
            return std::vector<std::string>{"model.safetensors"};
        return make_error("%s: no model.safetensors or model.safetensors.index.json",
                          dir.string().c_str());
    }
    std::ifstream in(index, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    simdjson::dom::parser parser;
    simdjson::dom::object root, map;
    if (parser.parse(s.data(), s.size(), true).get(root) || root["weight_map"].get(map))
        return make_error("%s: not a JSON object with a 'weight_map'", index.string().c_str());
    std::set<std::string> files;
    for (auto kv : map) {
        std::string_view file;
        if (kv.value.get(file))
            return make_error("%s: weight_map values must be file names", index.string().c_str());
        if (file.empty() || file.find('/') != std::string_view::npos ||
            file.find('\\') != std::string_view::npos || file == "." || file == "..")
            return make_error("%s: shard name '%.*s' is not a plain file name",
                              index.string().c_str(), int(file.size()), file.data());
        files.emplace(file);
    }
    if (files.empty()) return make_error("%s: empty weight_map", index.string().c_str());
    return std::vector<std::string>(files.begin(), files.end());
}

}  // namespace

result<loaded_model> load_hf_model(const std::string& dir) {
    auto config = read_hf_config(dir);
    if (!config) return config.err();
    auto files = shard_files(fs::path(dir));
    if (!files) return files.err();
    std::vector<std::shared_ptr<safetensors_file>> shards;
    std::map<std::string, const safetensors_tensor_info*> by_name;
    for (const std::string& name : *files) {
        auto f = safetensors_file::open((fs::path(dir) / name).string());
        if (!f) return f.err();
        for (const safetensors_tensor_info& t : (*f)->tensors())
            if (!by_name.emplace(t.name, &t).second)
                return make_error("%s: tensor '%s' appears in two shards", dir.c_str(),
                                  t.name.c_str());
        shards.push_back(std::move(*f));
    }
    // A checkpoint without lm_head.weight ties it to the embedding.
    if (!by_name.count("lm_head.weight")) config->tie_word_embeddings = true;

    weight_names names = hf_weight_names(config->arch);
    tensor_lookup lookup = [&by_name](const std::string& name) -> result<tensor> {
        tensor t;
        auto it = by_name.find(name);
        if (it == by_name.end()) return t;
        const safetensors_tensor_info& info = *it->second;
        if (info.dtype == "F32")
            t.type = dtype::f32;
        else if (info.dtype == "F16")
            t.type = dtype::f16;
        else if (info.dtype == "BF16")
            t.type = dtype::bf16;
        else
            return make_error(
                "tensor '%s' has dtype %s, which is not supported (supported: F32, "
                "F16, BF16)",
                name.c_str(), info.dtype.c_str());
        t.shape = info.shape;
        t.data = info.data;
        t.num_bytes = info.num_bytes;
        return t;
    };
    auto weights = bind_weights(*config, names, lookup);
    if (!weights) return error{dir + ": " + weights.message()};
    loaded_model m{std::move(*config), std::move(*weights), nullptr, dir};
    for (const auto& s : shards) m.weights.storage.push_back(s->mapping());
    return m;
}

}  // namespace actorlm

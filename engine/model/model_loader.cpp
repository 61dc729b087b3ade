// Format detection for load_model, and the GGUF path: GGUF tensor names
// (token_embd, blk.N.attn_q, ...) bound as zero-copy views into the map.
// Runs on the caller's thread; the returned model keeps the map alive.
#include "model/model_loader.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "model/ggml_types.hpp"
#include "model/gguf_config.hpp"
#include "model/weight_binding.hpp"

namespace actorlm {

namespace {

bool has_gguf_magic(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    char magic[4] = {};
    size_t n = std::fread(magic, 1, 4, f);
    std::fclose(f);
    return n == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace

result<loaded_model> load_gguf_model(const std::string& path) {
    auto file = gguf_file::open(path);
    if (!file) return file.err();
    const gguf_file& g = **file;
    auto config = config_from_gguf(g);
    if (!config) return config.err();
    weight_names names = gguf_weight_names(config->arch);
    tensor_lookup lookup = [&g](const std::string& name) -> result<tensor> {
        const gguf_tensor_info* info = g.find_tensor(name);
        tensor t;
        if (!info) return t;
        auto type = dtype_from_ggml(info->ggml_type);
        if (!type)
            return make_error(
                "tensor '%s' has type %s (%u), which is not supported (supported: "
                "F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q6_K)",
                name.c_str(), ggml_type_name(info->ggml_type), info->ggml_type);
        t.type = *type;
        t.shape = info->shape;
        t.data = info->data;
        t.num_bytes = info->num_bytes;
        return t;
    };
    auto weights = bind_weights(*config, names, lookup);
    if (!weights) return error{path + ": " + weights.message()};
    if (config->name.empty()) config->name = std::filesystem::path(path).stem().string();
    loaded_model m{std::move(*config), std::move(*weights), *file, {}};
    m.weights.storage.push_back(g.mapping());
    return m;
}

result<loaded_model> load_model(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) return make_error("model path %s does not exist", path.c_str());
    if (fs::is_directory(st)) return load_hf_model(path);
    if (has_gguf_magic(path)) return load_gguf_model(path);
    fs::path p(path);
    if (p.filename() == "config.json" || p.extension() == ".safetensors" ||
        p.filename() == "model.safetensors.index.json")
        return load_hf_model(p.parent_path().empty() ? "." : p.parent_path().string());
    return make_error("%s is neither a GGUF file nor a Hugging Face model directory", path.c_str());
}

}  // namespace actorlm

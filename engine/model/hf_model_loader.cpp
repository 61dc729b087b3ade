// The Hugging Face path of model_loader: config.json via hf_config, tensors from
// model.safetensors or the shards named by model.safetensors.index.json, bound
// as zero-copy views (1-D tensors converted to F32). Q/K stay in HF's NeoX layout.
#include <filesystem>
#include <map>

#include "model/architecture.hpp"
#include "model/hf_config.hpp"
#include "model/model_loader.hpp"
#include "multimodal/vision_language.hpp"
#include "model/safetensors_file.hpp"
#include "model/safetensors_shards.hpp"
#include "model/weight_binding.hpp"

namespace actorlm {

namespace {

namespace fs = std::filesystem;

// Where a checkpoint keeps its text model: the plain layout, or inside a vision-language
// model as transformers 4 and 5 save LLaVA, Idefics3/SmolVLM and Qwen2.5-VL.
constexpr const char* k_text_prefixes[] = {"model.", "language_model.model.",
                                           "model.language_model.", "model.text_model."};
constexpr const char* k_lm_heads[] = {"lm_head.weight", "language_model.lm_head.weight"};

}  // namespace

result<loaded_model> load_hf_model(const std::string& dir) {
    auto config = read_hf_config(dir);
    if (!config) return config.err();
    auto files = safetensors_shard_files(dir);
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
    std::string text_prefix = "model.";
    for (const char* p : k_text_prefixes)
        if (by_name.count(std::string(p) + "embed_tokens.weight")) {
            text_prefix = p;
            break;
        }
    std::string lm_head;
    for (const char* h : k_lm_heads)
        if (by_name.count(h)) lm_head = h;
    // A checkpoint without lm_head.weight ties it to the embedding.
    if (lm_head.empty()) config->tie_word_embeddings = true;
    // The weight table names the plain layout; a wrapped text model is found under its prefix.
    // An encoder saved from a task model (BertForMaskedLM) prefixes every name with `bert.`.
    const char* optional_prefix = architecture(config->arch).hf_optional_prefix;
    auto checkpoint_name = [&](const std::string& name) {
        if (name == "lm_head.weight" && !lm_head.empty()) return lm_head;
        if (name.rfind("model.", 0) == 0) return text_prefix + name.substr(6);
        if (optional_prefix && !by_name.count(name) && by_name.count(optional_prefix + name))
            return optional_prefix + name;
        return name;
    };

    weight_names names = hf_weight_names(config->arch);
    tensor_lookup lookup = [&by_name, &checkpoint_name](const std::string& wanted) -> result<tensor> {
        tensor t;
        const std::string name = checkpoint_name(wanted);
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
    loaded_model m{std::move(*config), std::move(*weights), nullptr, dir, nullptr};
    for (const auto& s : shards) m.weights.storage.push_back(s->mapping());
    if (multimodal::is_vision_language_dir(dir)) {
        auto vision = multimodal::load_vision_language(dir);
        if (!vision) return vision.err();
        if (vision.value()->tower->output_dim != m.config.hidden_size)
            return make_error("%s: the projector writes %lld-wide rows but the text model's "
                              "hidden size is %lld",
                              dir.c_str(), static_cast<long long>(vision.value()->tower->output_dim),
                              static_cast<long long>(m.config.hidden_size));
        if (vision.value()->image_token_id >= m.config.vocab_size)
            return make_error("%s: the image token id %d is outside the vocabulary (%lld)",
                              dir.c_str(), vision.value()->image_token_id,
                              static_cast<long long>(m.config.vocab_size));
        m.vision = std::move(vision).value();
    }
    return m;
}

}  // namespace actorlm

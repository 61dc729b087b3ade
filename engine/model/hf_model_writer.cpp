// write_hf_model: a transformers-style checkpoint directory. All tensors share one
// dtype (torch_dtype); Q/K rows are written in NeoX order, un-permuting weights
// that came from a llama GGUF. config.json states RoPE in transformers 4's or 5's
// layout and the sliding window the way the model type's config class reads it.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "model/architecture.hpp"
#include "model/model_writer.hpp"
#include "model/safetensors_writer.hpp"
#include "model/tensor_codec.hpp"
#include "model/weight_binding.hpp"

namespace actorlm {

namespace {

namespace fs = std::filesystem;

// Shortest decimal that reads back as the same float ("1e-05", not "9.99999975e-06").
std::string float_text(float v) {
    char buf[32];
    for (int prec = 6; prec <= 9; ++prec) {
        std::snprintf(buf, sizeof(buf), "%.*g", prec, double(v));
        if (std::strtof(buf, nullptr) == v) break;
    }
    std::string s = buf;
    if (s.find_first_of(".en") == std::string::npos) s += ".0";  // keep it a JSON float
    return s;
}

status write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return make_error("cannot write %s", path.string().c_str());
    return status::success();
}

const char* torch_dtype(dtype t) {
    return t == dtype::f16 ? "float16" : t == dtype::bf16 ? "bfloat16" : "float32";
}

const char* safetensors_dtype(dtype t) {
    return t == dtype::f16 ? "F16" : t == dtype::bf16 ? "BF16" : "F32";
}

std::string ids_json(const std::vector<int32_t>& ids) {
    if (ids.size() == 1) return std::to_string(ids[0]);
    std::string s = "[";
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
    return s + "]";
}

// The members of one RoPE parameter set ({rope_type, [rope_theta,] factor, ...}).
std::string rope_members(const model_config& c, bool with_theta) {
    const rope_scaling& rs = c.rope_scaling;
    const char* type = rs.type == rope_scaling_type::linear   ? "linear"
                       : rs.type == rope_scaling_type::llama3 ? "llama3"
                                                              : "default";
    std::string j = "\"rope_type\": \"" + std::string(type) + "\"";
    if (with_theta) j += ", \"rope_theta\": " + float_text(c.rope_theta);
    if (rs.type != rope_scaling_type::none) j += ", \"factor\": " + float_text(rs.factor);
    if (rs.type == rope_scaling_type::llama3)
        j += ", \"low_freq_factor\": " + float_text(rs.low_freq_factor) +
             ", \"high_freq_factor\": " + float_text(rs.high_freq_factor) +
             ", \"original_max_position_embeddings\": " + std::to_string(rs.original_max_position);
    return j;
}

std::string rope_json(const model_config& c, hf_rope_layout layout) {
    std::string j;
    switch (layout) {
        case hf_rope_layout::transformers4:
            j += "  \"rope_theta\": " + float_text(c.rope_theta) + ",\n  \"rope_scaling\": ";
            if (c.rope_scaling.type == rope_scaling_type::none) {
                j += "null";
            } else {
                j += '{';
                j += rope_members(c, false);
                j += '}';
            }
            break;
        case hf_rope_layout::transformers5:
            j += "  \"rope_parameters\": {";
            j += rope_members(c, true);
            j += '}';
            break;
        case hf_rope_layout::transformers5_by_layer_type:
            j += "  \"rope_parameters\": {\"full_attention\": {";
            j += rope_members(c, true);
            j += "}, \"sliding_attention\": {";
            j += rope_members(c, true);
            j += "}}";
            break;
    }
    return j + ",\n";
}

// The window as the model type's config class reads it back (see hf_config.cpp): Mistral's
// sliding_window, Qwen's use_sliding_window + sliding_window + max_window_layers; layer_types
// whenever the window is on only some layers or the layout is keyed by layer type.
std::string window_json(const model_config& c, const hf_model_type& type, hf_rope_layout layout) {
    std::string j;
    const hf_window_keys keys = type.window_keys;
    const bool qwen = keys == hf_window_keys::qwen;
    const std::string window = c.sliding_window > 0 ? std::to_string(c.sliding_window) : "null";
    if (keys == hf_window_keys::plain) j += "  \"sliding_window\": " + window + ",\n";
    if (qwen) {
        j += std::string("  \"use_sliding_window\": ") + (c.sliding_window > 0 ? "true" : "false") +
             ",\n";
        j += "  \"sliding_window\": " + window + ",\n";
        j += "  \"max_window_layers\": " +
             std::to_string(c.sliding_window > 0 && c.sliding_layers.empty() ? 0 : c.num_layers) +
             ",\n";
    }
    if (!c.sliding_layers.empty() || layout == hf_rope_layout::transformers5_by_layer_type) {
        j += "  \"layer_types\": [";
        for (int64_t l = 0; l < c.num_layers; ++l)
            j +=
                std::string(l ? ", " : "") +
                (layer_attention_window(c, l) > 0 ? "\"sliding_attention\"" : "\"full_attention\"");
        j += "],\n";
    }
    return j;
}

std::string config_json(const model_config& c, const hf_model_type& type, dtype t,
                        hf_rope_layout layout) {
    auto n = [](int64_t v) { return std::to_string(v); };
    std::string j = "{\n  \"architectures\": [\"" + std::string(type.class_name) + "\"],\n";
    j += "  \"model_type\": \"" + std::string(type.model_type) + "\",\n";
    j += "  \"hidden_size\": " + n(c.hidden_size) + ",\n";
    j += "  \"intermediate_size\": " + n(c.intermediate_size) + ",\n";
    j += "  \"num_hidden_layers\": " + n(c.num_layers) + ",\n";
    j += "  \"num_attention_heads\": " + n(c.num_heads) + ",\n";
    j += "  \"num_key_value_heads\": " + n(c.num_kv_heads) + ",\n";
    j += "  \"head_dim\": " + n(c.head_dim) + ",\n";
    j += "  \"vocab_size\": " + n(c.vocab_size) + ",\n";
    j += "  \"max_position_embeddings\": " + n(c.max_position) + ",\n";
    j += "  \"rms_norm_eps\": " + float_text(c.rms_norm_eps) + ",\n";
    j += rope_json(c, layout);
    j += window_json(c, type, layout);
    j += "  \"hidden_act\": \"silu\",\n";
    if (architecture(c.arch).hf_attention_bias_key)
        j += std::string("  \"attention_bias\": ") + (c.recipe.qkv_bias ? "true" : "false") + ",\n";
    j += std::string("  \"tie_word_embeddings\": ") + (c.tie_word_embeddings ? "true" : "false") +
         ",\n";
    if (c.bos_token_id >= 0) j += "  \"bos_token_id\": " + n(c.bos_token_id) + ",\n";
    if (!c.eos_token_ids.empty()) j += "  \"eos_token_id\": " + ids_json(c.eos_token_ids) + ",\n";
    j += "  \"torch_dtype\": \"" + std::string(torch_dtype(t)) + "\"\n}\n";
    return j;
}

}  // namespace

status write_hf_model(const model_config& c, const model_weights& weights, const std::string& dir,
                      const model_write_options& opt) {
    if (status s = validate_weights(c, weights); !s) return s;
    if (!c.mrope_section.empty())
        return make_error("M-RoPE models (Qwen2.5-VL's text model) are not written as "
                          "checkpoints: the writer knows text-only model types");
    const dtype t = opt.matrix_type.value_or(weights.token_embedding.type);
    if (t != dtype::f32 && t != dtype::f16 && t != dtype::bf16)
        return make_error(
            "Hugging Face checkpoints hold F32, F16 or BF16 weights, not %s "
            "(choose a matrix type)",
            dtype_name(t));
    const architecture_info& arch = architecture(c.arch);
    // The model type's config class derives the recipe again on load: it must come out equal.
    // Only decoders are written (make-test-model, conversions); an encoder's embeddings,
    // positions and LayerNorm biases have no writer.
    if (!c.recipe.causal)
        return make_error("writing an encoder (%s) checkpoint is not supported", arch.name);
    if (!arch.writable)
        return make_error(
            "writing a %s checkpoint is not supported (its own keys are not "
            "written yet)",
            arch.name);
    if (c.recipe.mixture_of_experts || arch.hf_moe != hf_moe_keys::none)
        return make_error("writing a mixture-of-experts (%s) checkpoint is not supported",
                          arch.name);
    model_recipe derived = arch.recipe;
    if (arch.hf_attention_bias_key) derived.qkv_bias = c.recipe.qkv_bias;
    if (recipe_features(derived) != recipe_features(c.recipe))
        return make_error("a %s checkpoint cannot hold this model's recipe (%s)", arch.name,
                          c.recipe.qkv_bias != derived.qkv_bias
                              ? (derived.qkv_bias ? "it always has attention biases"
                                                  : "it has no attention biases")
                              : "features differ from the architecture's");
    const hf_model_type* type = &arch.hf_types.front();
    if (!opt.hf_model_type.empty()) {
        auto [found_arch, found] = find_hf_model_type(opt.hf_model_type);
        if (found_arch != &arch)
            return make_error("model_type '%s' is not a %s model type", opt.hf_model_type.c_str(),
                              arch.name);
        type = found;
    }
    if (c.sliding_window > 0 && type->window_keys == hf_window_keys::none)
        return make_error(
            "a %s config.json has no sliding window (transformers ignores it); "
            "write the model as mistral",
            type->model_type);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return make_error("cannot create %s: %s", dir.c_str(), ec.message().c_str());

    safetensors_writer sw;
    sw.add_metadata("format", "pt");
    const bool permute = !c.rope_neox;  // HF keeps NeoX order
    auto add = [&](const std::string& name, const tensor& src, int64_t rope_heads) -> status {
        auto bytes = convert_tensor(src, t);
        if (!bytes) return bytes.err();
        if (permute && rope_heads > 0) {
            size_t row =
                src.shape.size() == 2 ? dtype_row_bytes(t, src.cols()) : dtype_block_bytes(t);
            *bytes = permute_rope_rows(*bytes, rope_heads, c.head_dim, row, false);
        }
        sw.add_tensor(name, safetensors_dtype(t), src.shape, std::move(*bytes));
        return status::success();
    };
    const weight_names names = hf_weight_names(c.arch);
    if (status s = add(names.token_embedding, weights.token_embedding, 0); !s) return s;
    for (size_t i = 0; i < weights.layers.size(); ++i) {
        for (weight_role r : all_weight_roles) {
            if (!role_used(c, r)) continue;
            int64_t heads = r == weight_role::wq || r == weight_role::bq   ? c.num_heads
                            : r == weight_role::wk || r == weight_role::bk ? c.num_kv_heads
                                                                           : 0;
            if (status s =
                    add(names.layer(int64_t(i), r), layer_tensor(weights.layers[i], r), heads);
                !s)
                return s;
        }
    }
    if (status s = add(names.output_norm, weights.output_norm, 0); !s) return s;
    if (!c.tie_word_embeddings)
        if (status s = add(names.lm_head, weights.lm_head, 0); !s) return s;
    const fs::path d(dir);
    if (status s = sw.write((d / "model.safetensors").string()); !s) return s;

    if (status s = write_text(d / "config.json", config_json(c, *type, t, opt.hf_rope)); !s)
        return s;
    std::string gen = "{\n";
    if (c.bos_token_id >= 0) gen += "  \"bos_token_id\": " + std::to_string(c.bos_token_id) + ",\n";
    if (!c.eos_token_ids.empty()) gen += "  \"eos_token_id\": " + ids_json(c.eos_token_ids) + ",\n";
    gen += "  \"do_sample\": false\n}\n";
    if (status s = write_text(d / "generation_config.json", gen); !s) return s;
    if (opt.vocab) {
        if (status s = write_text(d / "tokenizer.json", test_vocab_tokenizer_json(*opt.vocab)); !s)
            return s;
        if (status s = write_text(d / "tokenizer_config.json",
                                  test_vocab_tokenizer_config_json(*opt.vocab, c.max_position));
            !s)
            return s;
    }
    return status::success();
}

}  // namespace actorlm

// write_gguf_model: llama.cpp's conventions: `<arch>.*` hyperparameter keys,
// 1-D tensors (norms, biases) in F32, tied models without output.weight, llama
// Q/K rows permuted for interleaved RoPE, llama3 scaling as rope_freqs.weight,
// M-RoPE as `qwen2vl` with rope.dimension_sections.
#include <cstring>
#include <limits>

#include "model/gguf_config.hpp"
#include "model/gguf_writer.hpp"
#include "model/architecture.hpp"
#include "model/model_writer.hpp"
#include "model/tensor_codec.hpp"
#include "model/weight_binding.hpp"

namespace actorlm {

namespace {

void put_vocab(gguf_writer& w, const test_vocab& v) {
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "gpt-2");
    w.set_string_array("tokenizer.ggml.tokens", v.tokens);
    w.set_i32_array("tokenizer.ggml.token_type", v.token_types);
    w.set_string_array("tokenizer.ggml.merges", v.merges);
    w.set_u32("tokenizer.ggml.bos_token_id", uint32_t(v.bos_token_id));
    w.set_u32("tokenizer.ggml.eos_token_id", uint32_t(v.eos_token_id));
    w.set_u32("tokenizer.ggml.unknown_token_id", uint32_t(v.eos_token_id));
    w.set_bool("tokenizer.ggml.add_bos_token", false);
    w.set_string("tokenizer.chat_template", k_test_chat_template);
}

uint32_t file_type_of(dtype t) {  // llama_ftype
    switch (t) {
        case dtype::f32: return 0;
        case dtype::f16: return 1;
        case dtype::q8_0: return 7;
        case dtype::bf16: return 32;
        default: return 0;
    }
}

}  // namespace

status write_gguf_model(const model_config& c, const model_weights& weights,
                        const std::string& path, const model_write_options& opt) {
    if (status s = validate_weights(c, weights); !s) return s;
    if (opt.matrix_type && !can_encode(*opt.matrix_type))
        return make_error("GGUF writer: cannot encode %s weights", dtype_name(*opt.matrix_type));
    // The loader derives the recipe again from general.architecture: it must come out equal.
    const architecture_info& info = architecture(c.arch);
    // Only decoders are written (make-test-model, conversions); an encoder's embeddings,
    // positions and LayerNorm biases have no writer.
    if (!c.recipe.causal)
        return make_error("GGUF writer: writing an encoder (%s) is not supported", info.name);
    if (!info.writable)
        return make_error(
            "GGUF writer: writing %s is not supported (its own keys are not "
            "written yet)",
            info.name);
    if (c.recipe.mixture_of_experts || info.hf_moe != hf_moe_keys::none)
        return make_error("GGUF writer: writing a mixture of experts (%s) is not supported",
                          info.name);
    model_recipe derived = info.recipe;
    if (info.gguf_bias_when_present) derived.qkv_bias = c.recipe.qkv_bias;
    if (recipe_features(derived) != recipe_features(c.recipe))
        return make_error(
            "GGUF writer: a %s GGUF cannot hold this model's recipe (features "
            "differ from the architecture's)",
            info.name);
    // An M-RoPE text model goes under the architecture's M-RoPE name, as llama.cpp's
    // converter writes Qwen2-VL / Qwen2.5-VL (`qwen2vl`).
    const bool mrope = !c.mrope_section.empty();
    if (mrope && info.gguf_mrope_name == nullptr)
        return make_error(
            "GGUF writer: a %s GGUF cannot hold M-RoPE (llama.cpp has it only "
            "for qwen2, as qwen2vl)",
            info.name);
    if (status s = check_mrope_section(c); !s)
        return make_error("GGUF writer: %s", s.message().c_str());
    gguf_writer w;
    const std::string arch = mrope ? info.gguf_mrope_name : info.name;
    const std::string p = arch + ".";
    w.set_string("general.architecture", arch);
    w.set_string("general.name", c.name.empty() ? "model" : c.name);
    if (!opt.description.empty()) w.set_string("general.description", opt.description);
    for (auto [key, v] : {std::pair<const char*, int64_t>{"context_length", c.max_position},
                          {"embedding_length", c.hidden_size},
                          {"block_count", c.num_layers},
                          {"feed_forward_length", c.intermediate_size},
                          {"attention.head_count", c.num_heads},
                          {"attention.head_count_kv", c.num_kv_heads},
                          {"attention.key_length", c.head_dim},
                          {"attention.value_length", c.head_dim},
                          {"rope.dimension_count", c.head_dim},
                          {"vocab_size", c.vocab_size}}) {
        if (v < 0 || v > std::numeric_limits<uint32_t>::max())
            return make_error("GGUF writer: %s%s = %lld does not fit uint32", p.c_str(), key,
                              (long long)v);
        w.set_u32(p + key, uint32_t(v));
    }
    w.set_f32(p + "rope.freq_base", c.rope_theta);
    w.set_f32(p + "attention.layer_norm_rms_epsilon", c.rms_norm_eps);
    if (mrope)  // four sections, the fourth unused by Qwen2-VL / Qwen2.5-VL
        w.set_i32_array(p + "rope.dimension_sections",
                        {c.mrope_section[0], c.mrope_section[1], c.mrope_section[2], 0});
    if (c.sliding_window > 0) {
        if (!c.sliding_layers.empty())
            return make_error(
                "GGUF writer: GGUF has no key for a sliding window on only some "
                "layers");
        w.set_u32(p + "attention.sliding_window", uint32_t(c.sliding_window));
    }
    if (c.rope_scaling.type == rope_scaling_type::linear) {
        w.set_string(p + "rope.scaling.type", "linear");
        w.set_f32(p + "rope.scaling.factor", c.rope_scaling.factor);
    }
    if (opt.matrix_type) w.set_u32("general.file_type", file_type_of(*opt.matrix_type));
    if (opt.vocab) {
        put_vocab(w, *opt.vocab);
    } else if (opt.tokenizer_source) {
        for (const std::string& key : opt.tokenizer_source->keys())
            if (key.rfind("tokenizer.", 0) == 0) w.copy_key(*opt.tokenizer_source, key);
    } else {
        if (c.bos_token_id >= 0) w.set_u32("tokenizer.ggml.bos_token_id", uint32_t(c.bos_token_id));
        if (!c.eos_token_ids.empty())
            w.set_u32("tokenizer.ggml.eos_token_id", uint32_t(c.eos_token_ids.front()));
    }

    // GGUF llama stores Q/K interleaved; qwen2/qwen3 keep HF's NeoX order.
    const bool target_neox = architecture(c.arch).gguf_rope_neox;
    const bool permute = c.rope_neox != target_neox;
    auto add = [&](const std::string& name, const tensor& t, bool matrix,
                   int64_t rope_heads) -> status {
        dtype target = matrix ? opt.matrix_type.value_or(t.type) : dtype::f32;
        auto bytes = convert_tensor(t, target);
        if (!bytes) return bytes.err();
        std::vector<int64_t> shape = matrix ? t.shape : std::vector<int64_t>{t.num_elements()};
        if (permute && rope_heads > 0) {
            size_t row = matrix ? dtype_row_bytes(target, t.cols()) : dtype_block_bytes(target);
            *bytes = permute_rope_rows(*bytes, rope_heads, c.head_dim, row, !target_neox);
        }
        w.add_tensor(name, uint32_t(target), std::move(shape), std::move(*bytes));
        return status::success();
    };
    const weight_names names = gguf_weight_names(c.arch);
    if (status s = add(names.token_embedding, weights.token_embedding, true, 0); !s) return s;
    if (status s = add(names.output_norm, weights.output_norm, false, 0); !s) return s;
    if (!c.tie_word_embeddings)
        if (status s = add(names.lm_head, weights.lm_head, true, 0); !s) return s;
    if (c.rope_scaling.type == rope_scaling_type::llama3) {
        std::vector<float> d = llama3_rope_divisors(c);
        std::vector<uint8_t> bytes(d.size() * 4);
        std::memcpy(bytes.data(), d.data(), bytes.size());
        w.add_tensor("rope_freqs.weight", 0, {int64_t(d.size())}, std::move(bytes));
    }
    for (size_t i = 0; i < weights.layers.size(); ++i) {
        for (weight_role r : all_weight_roles) {
            if (!role_used(c, r)) continue;
            const tensor& t = layer_tensor(weights.layers[i], r);
            int64_t heads = r == weight_role::wq || r == weight_role::bq   ? c.num_heads
                            : r == weight_role::wk || r == weight_role::bk ? c.num_kv_heads
                                                                           : 0;
            bool matrix = t.shape.size() == 2;
            if (status s = add(names.layer(int64_t(i), r), t, matrix, heads); !s) return s;
        }
    }
    return w.write(path);
}

std::vector<uint8_t> permute_rope_rows(const std::vector<uint8_t>& rows, int64_t heads,
                                       int64_t head_dim, size_t row_bytes, bool to_interleaved) {
    std::vector<uint8_t> out(rows.size());
    const int64_t half = head_dim / 2;
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < half; ++i)
            for (int64_t s = 0; s < 2; ++s) {
                int64_t neox = h * head_dim + s * half + i;
                int64_t inter = h * head_dim + 2 * i + s;
                int64_t src = to_interleaved ? neox : inter, dst = to_interleaved ? inter : neox;
                std::memcpy(out.data() + size_t(dst) * row_bytes,
                            rows.data() + size_t(src) * row_bytes, row_bytes);
            }
    return out;
}

}  // namespace actorlm

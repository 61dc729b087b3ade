// architecture: the one table of supported decoder architectures. Each entry says how the
// architecture is named in each format (GGUF general.architecture, also of its M-RoPE text
// model, config.json model_type and class), how its files differ from the common layout
// (GGUF Q/K row order, config keys, tensor names) and its model_recipe. Loaders, writers and
// weight binding look entries up here instead of testing model_arch. Immutable static data;
// any thread. Invariant: every model_arch value has exactly one entry.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/model_config.hpp"
#include "model/weight_binding.hpp"

namespace actorlm {

/// How a config.json model type spells a sliding window (see hf_config.cpp).
enum class hf_window_keys : uint8_t {
    none,   // no window key is read (Llama's config class ignores sliding_window)
    plain,  // sliding_window (Mistral)
    qwen,   // use_sliding_window + sliding_window + max_window_layers (Qwen2/Qwen3)
    /// sliding_window on a pattern of layers: layer_types, else every sliding_pattern-th layer
    /// (layers pattern - 1, 2 * pattern - 1, ...) is global, the others slide (Gemma 2 / 3;
    /// Gemma 3 reads the pattern from sliding_window_pattern when present).
    pattern,
};

/// One config.json model_type that maps to an architecture.
struct hf_model_type {
    const char* model_type;  // config.json "model_type"
    const char* class_name;  // config.json "architectures"[0] when writing
    hf_window_keys window_keys;
    /// pattern keys: the default number of layers per global layer (Gemma 2: 2, Gemma 3: 6).
    int32_t sliding_pattern = 0;
};

struct architecture_info {
    model_arch arch;
    const char* name;  // actorlm's name, also GGUF general.architecture and key prefix
    std::vector<hf_model_type> hf_types;  // the first is the default when writing
    /// The GGUF general.architecture (and key prefix) of this architecture's M-RoPE text
    /// model: llama.cpp writes Qwen2-VL / Qwen2.5-VL as `qwen2vl`, qwen2's tensors and keys
    /// plus `qwen2vl.rope.dimension_sections` (model_config::mrope_section). Null: none.
    const char* gguf_mrope_name = nullptr;
    /// false: no GGUF file names this entry (llama.cpp writes Mixtral as `llama`), so
    /// GGUF look-ups and lists skip it.
    bool gguf_own_name = true;
    /// GGUF stores Q/K rows in NeoX order (llama.cpp's converter permutes only `llama`).
    bool gguf_rope_neox = true;
    /// config.json's attention_bias key switches the Q/K/V biases on (Llama's config class).
    bool hf_attention_bias_key = false;
    /// A GGUF with blk.0.attn_q.bias has Q/K/V biases though the recipe has none (llama.cpp).
    bool gguf_bias_when_present = false;
    /// llama.cpp's converter stores (1 + w) norm weights with the 1 added (Gemma): GGUF files
    /// of this architecture use plain norms.
    bool gguf_norms_folded = false;
    /// llama.cpp's hard-coded sliding-window pattern of this architecture's GGUF files (its
    /// set_swa_pattern: every n-th layer global, layers n - 1, 2n - 1, ...); 0: every layer
    /// slides when the file sets attention.sliding_window.
    int32_t gguf_sliding_pattern = 0;
    /// llama.cpp scales attention scores by 1 / sqrt(head_dim) except for a model of this many
    /// layers (Gemma's 27B), scaled by 1 / sqrt(hidden / heads) (its query_pre_attn_scalar,
    /// which GGUF does not store). 0: no such model.
    int64_t gguf_hidden_scale_layers = 0;
    /// Embedded rows are multiplied by sqrt(hidden_size) (Gemma; recipe.embedding_scale).
    bool embedding_scale_sqrt_hidden = false;
    /// Gemma's keys: config.json query_pre_attn_scalar, attn_logit_softcapping,
    /// final_logit_softcapping, hidden_activation; GGUF <arch>.attn_logit_softcapping,
    /// <arch>.final_logit_softcapping.
    bool gemma_keys = false;
    /// The sliding-window layers may turn with their own RoPE (model_config::sliding_rope_theta:
    /// config.json rope_local_base_freq or rope_parameters.sliding_attention, GGUF
    /// rope.freq_base_swa, default 10000; Gemma 3).
    bool sliding_rope = false;
    /// The model writers can write this architecture (false: its own keys, such as Gemma's,
    /// are not written back yet, so they refuse it by name).
    bool writable = true;
    /// Layer tensor names that differ from the common ones (weight_binding.cpp).
    std::vector<std::pair<weight_role, const char*>> gguf_names, hf_names;
    /// Hugging Face names outside the layers, and the prefix of a layer's names.
    const char* hf_embedding = "model.embed_tokens.weight";
    const char* hf_layer_prefix = "model.layers.";
    /// An encoder checkpoint's weights may all carry this prefix (BertForMaskedLM's `bert.`;
    /// sentence-transformers saves BertModel without it): the loader tries both. Null: none.
    const char* hf_optional_prefix = nullptr;
    /// Mixture of experts (moe_config.hpp): the config.json keys, and the Hugging Face names
    /// inside a layer of the router, the experts' prefix (followed by `E.` and the matrix) and
    /// each expert's gate, up and down matrices (expert_binding.cpp). Null: dense.
    hf_moe_keys hf_moe = hf_moe_keys::none;
    const char* hf_router = nullptr;
    const char* hf_experts = nullptr;
    const char* hf_expert_matrices[3] = {nullptr, nullptr, nullptr};
    /// What every layer computes; a format may refine it (attention_bias above).
    model_recipe recipe;
};

/// The entry of `a`.
const architecture_info& architecture(model_arch a);
/// The entry whose GGUF name or GGUF M-RoPE name is `name`, or null.
const architecture_info* find_gguf_architecture(std::string_view name);
/// The entry and model-type row for config.json's `model_type`, or nulls.
std::pair<const architecture_info*, const hf_model_type*> find_hf_model_type(
    std::string_view model_type);
/// Every config.json model_type of the table, in table order (CLI choices).
std::vector<std::string> hf_model_type_list();
/// "llama, qwen2, qwen2vl, qwen3" / "llama, mistral, qwen2, qwen3", for error messages.
std::string gguf_architecture_names();
std::string hf_model_type_names();

}  // namespace actorlm

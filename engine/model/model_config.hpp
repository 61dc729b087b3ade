// model_config: the one description of a decoder-only transformer that both
// GGUF metadata and Hugging Face config.json map into. Everything downstream
// (forward, KV cache sizing, CUDA workers) reads only this type; what a layer
// computes is its `recipe` (model_recipe.hpp), filled from the architecture table
// (architecture.hpp), so executors never branch on `arch`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <optional>

#include <actorlm/engine.hpp>

#include "base/result.hpp"
#include "base/rope_scaling.hpp"
#include "model/model_recipe.hpp"
#include "model/moe_config.hpp"

namespace actorlm {

/// The architecture family: names the file formats use and the default recipe
/// (architecture.hpp has one table entry per value).
enum class model_arch {
    llama,      // Llama 1/2/3 and Mistral
    qwen2,      // Llama + QKV bias, NeoX RoPE
    qwen3,      // Llama + per-head Q/K RMSNorm, NeoX RoPE
    bert,       // encoder: absolute positions, post-LayerNorm, GELU FFN, bidirectional attention
    gemma2,     // (1 + w) norms, post-norms, GeGLU, embedding scale, attention and final soft-caps
    gemma3,     // Gemma 2 without soft-caps, plus Q/K norm and its own RoPE for sliding layers
    mixtral,    // Llama (Mistral) + a mixture-of-experts FFN (HF; GGUF files say llama)
    qwen3_moe,  // Qwen3 + a mixture-of-experts FFN, some layers dense
};

/// The architecture's name (GGUF general.architecture), from the architecture table.
const char* model_arch_name(model_arch a);

/// The largest layer count and the largest dimension (hidden, intermediate, head, vocabulary
/// size, head counts) a config file may declare: far above any real model, small enough that
/// the per-layer and per-dimension tables sized from them are never a huge allocation. The
/// readers (hf_config, gguf_config) refuse larger values before using them.
inline constexpr int64_t k_max_config_layers = 4096;
inline constexpr int64_t k_max_config_dim = int64_t{1} << 24;

struct model_config;
/// The attention window of global layer `layer`: config.sliding_window when that layer
/// slides, 0 (full causal attention) otherwise.
int32_t layer_attention_window(const model_config& config, int64_t layer);

struct model_config {
    model_arch arch = model_arch::llama;
    int64_t vocab_size = 0;
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t num_layers = 0;
    int64_t num_heads = 0;
    int64_t num_kv_heads = 0;
    int64_t head_dim = 0;
    int64_t max_position = 2048;  // the model's context length
    float rms_norm_eps = 1e-5f;  // every norm's epsilon (also LayerNorm's, recipe.norm)
    float rope_theta = 10000.0f;
    // Layout of Q/K rows inside a head as stored in the loaded weights.
    // false: interleaved pairs (2i, 2i+1) — GGUF llama, whose converter permutes Q/K rows.
    // true: NeoX halves (i, i + head_dim/2) — HF checkpoints and GGUF qwen2/qwen3.
    bool rope_neox = false;
    struct rope_scaling rope_scaling;
    /// The RoPE of the sliding-window layers when it differs from the other layers' (Gemma 3:
    /// local layers turn with rope_local_base_freq 10000 and no scaling, global ones with
    /// rope_theta 1e6 and their rope_scaling). 0: every layer uses rope_theta + rope_scaling.
    /// A backend without per-layer RoPE must refuse a config that sets it.
    float sliding_rope_theta = 0.0f;
    struct rope_scaling sliding_rope_scaling;
    /// M-RoPE (Qwen2.5-VL's text model): every token has three positions (temporal, height,
    /// width) and the rotary pairs are split in that order into sections of these many pairs
    /// (transformers' mrope_section; their sum is head_dim / 2): pair i turns with the
    /// position of the section it falls in. Text tokens have three equal positions, which
    /// is ordinary RoPE. Empty: ordinary RoPE.
    std::vector<int32_t> mrope_section;
    /// Sliding-window attention (Mistral, Qwen2/Qwen3 with use_sliding_window, GGUF
    /// `<arch>.attention.sliding_window`): a query at position p attends to the keys at
    /// positions k with 0 <= p - k < sliding_window, i.e. itself and the sliding_window - 1
    /// tokens before it. This is transformers' sliding_window_overlay (kv_idx > q_idx - window),
    /// vLLM's window of (window - 1, 0) and llama.cpp's LLAMA_SWA_TYPE_STANDARD
    /// (masked when p - k >= n_swa). 0: full causal attention. Only masks; the KV cache
    /// still holds every position.
    int32_t sliding_window = 0;
    /// Which layers use sliding_window (transformers' layer_types "sliding_attention"; Qwen2
    /// puts it on layers >= max_window_layers). Empty: every layer. Size num_layers otherwise.
    std::vector<bool> sliding_layers;
    bool tie_word_embeddings = false;
    /// What every layer computes (biases, Q/K norm, norm form, activation, scales, caps).
    model_recipe recipe;
    /// The mixture-of-experts FFN (recipe.mixture_of_experts); num_experts 0: dense.
    moe_config moe;
    /// The pooling the model declares (sentence-transformers' modules.json + 1_Pooling +
    /// Normalize, GGUF <arch>.pooling_type); unset: none declared.
    std::optional<pooling_params> pooling;
    int32_t bos_token_id = -1;
    std::vector<int32_t> eos_token_ids;
    std::string name;  // general.name or the directory name
};

/// An M-RoPE config's sections: three of them, summing to head_dim / 2 (the message names
/// both numbers otherwise). Success for a config without M-RoPE.
status check_mrope_section(const model_config& config);

}  // namespace actorlm

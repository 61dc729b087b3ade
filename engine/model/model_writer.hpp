// model_writer: writes a model (config + weights, from any loader or from the
// test-model generator) as a GGUF file or a Hugging Face directory. It
// converts Q/K rows to the target format's RoPE layout (GGUF llama:
// interleaved, permuted like llama.cpp's converter; everything else: NeoX)
// and, on request, the matrix dtype. Runs on the caller's thread.
#pragma once

#include <optional>
#include <string>

#include "base/dtype.hpp"
#include "model/gguf_file.hpp"
#include "model/model_config.hpp"
#include "model/model_weights.hpp"
#include "model/test_model_vocab.hpp"
#include "base/result.hpp"

namespace actorlm {

/// How config.json states RoPE. transformers 4: top-level rope_theta + rope_scaling.
/// transformers 5: rope_parameters {rope_type, rope_theta, ...}; by_layer_type: keyed by
/// attention type ({"full_attention": {...}, "sliding_attention": {...}}) with layer_types,
/// as transformers 5 writes models whose layers differ.
enum class hf_rope_layout { transformers4, transformers5, transformers5_by_layer_type };

struct model_write_options {
    /// Type of every 2-D weight; nullopt keeps each tensor's type. GGUF: F32, F16, BF16, Q8_0
    /// (or any type when kept); HF: F32, F16, BF16 (also used for the 1-D tensors).
    std::optional<dtype> matrix_type;
    /// Tokenizer to embed (GGUF tokenizer.ggml.* keys; HF tokenizer.json + tokenizer_config.json).
    const test_vocab* vocab = nullptr;
    /// GGUF only, when vocab is null: copy every tokenizer.* key of this file.
    const gguf_file* tokenizer_source = nullptr;
    /// HF config.json model_type; empty: the arch name ("mistral" is a llama).
    std::string hf_model_type;
    /// HF config.json RoPE layout.
    hf_rope_layout hf_rope = hf_rope_layout::transformers4;
    /// general.description (GGUF).
    std::string description;
};

/// Writes `weights` as one GGUF v3 file. A qwen2 config with mrope_section (Qwen2.5-VL's text
/// model) is written as llama.cpp's `qwen2vl`; M-RoPE on another architecture is an error.
/// Errors name the tensor or the path.
status write_gguf_model(const model_config& config, const model_weights& weights,
                        const std::string& path, const model_write_options& options = {});

/// Writes a Hugging Face directory (created if needed): config.json, generation_config.json,
/// model.safetensors and, with a vocab, tokenizer.json + tokenizer_config.json.
status write_hf_model(const model_config& config, const model_weights& weights,
                      const std::string& dir, const model_write_options& options = {});

/// Reorders the rows of a Q or K projection (or bias) of `heads` heads between the NeoX
/// layout (row h*hd + half*hd/2 + i) and the interleaved layout (row h*hd + 2i + half).
/// `rows` holds heads*head_dim rows of `row_bytes` bytes each.
std::vector<uint8_t> permute_rope_rows(const std::vector<uint8_t>& rows, int64_t heads,
                                       int64_t head_dim, size_t row_bytes, bool to_interleaved);

}  // namespace actorlm

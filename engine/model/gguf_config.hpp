// gguf_config: maps GGUF metadata (general.architecture = llama | qwen2 | qwen2vl | qwen3,
// `<arch>.*` hyperparameters, tokenizer.ggml.* special ids) to model_config.
// Pure function of an opened gguf_file; any thread.
#pragma once

#include <vector>

#include "model/gguf_file.hpp"
#include "model/model_config.hpp"
#include "base/result.hpp"

namespace actorlm {

/// Builds the config of a GGUF model. vocab_size comes from token_embd.weight's rows (the
/// logits width). A Llama-3.1-style `rope_freqs` tensor is turned into llama3 rope scaling
/// (checked to reproduce the tensor). A `qwen2vl` file (Qwen2-VL / Qwen2.5-VL's text model)
/// is qwen2 with mrope_section from `qwen2vl.rope.dimension_sections`, which it must have.
/// Errors name the missing or bad key.
result<model_config> config_from_gguf(const gguf_file& file);

/// The per-dimension frequency divisors of llama3 rope scaling (head_dim / 2 values), as
/// llama.cpp's converter stores them in the `rope_freqs.weight` tensor.
std::vector<float> llama3_rope_divisors(const model_config& config);

}  // namespace actorlm

// hf_config: maps a Hugging Face config.json (plus generation_config.json) of a
// Llama / Mistral / Qwen2 / Qwen3 / Gemma 2 / Gemma 3 / BERT checkpoint to model_config. Pure functions;
// any thread. HF checkpoints keep Q/K in NeoX layout, so rope_neox is true.
#pragma once

#include <string>
#include <string_view>

#include "model/model_config.hpp"
#include "base/result.hpp"

namespace actorlm {

/// Parses config.json text, and generation_config.json text when non-empty (its eos ids are
/// added to the config's). RoPE comes from transformers 4's rope_theta + rope_scaling or 5's
/// rope_parameters (flat or keyed by layer type); the sliding window from sliding_window /
/// use_sliding_window / max_window_layers / layer_types as the model type's config class
/// reads them. A qwen2_5_vl config gives its text model (text_config, or the top level as
/// transformers 4 wrote it): Qwen2 with mrope_section from the RoPE settings. Errors name
/// the key: a missing or non-integer size, an unknown model_type, an unsupported RoPE type
/// or layer type, inconsistent head counts, an mrope_section that does not cover head_dim / 2.
result<model_config> parse_hf_config(std::string_view config_json,
                                     std::string_view generation_config_json = {});

/// Reads `dir`/config.json (required) and `dir`/generation_config.json (optional).
/// config.name becomes the directory's name.
result<model_config> read_hf_config(const std::string& dir);

}  // namespace actorlm

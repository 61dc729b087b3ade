// model_loader: opens a model from a GGUF file or a Hugging Face directory
// (config.json + safetensors) into model_config + model_weights views over
// memory maps. Runs once at startup on the caller's thread; the result is
// immutable and may be shared by the executors that read it.
#pragma once

#include <memory>
#include <string>

#include "model/gguf_file.hpp"
#include "model/model_config.hpp"
#include "model/model_weights.hpp"
#include "base/result.hpp"

namespace actorlm::multimodal {
struct vision_language_model;
}  // namespace actorlm::multimodal

namespace actorlm {

/// A loaded model. The weights' views stay valid while `weights.storage` (or this object) lives.
struct loaded_model {
    model_config config;
    model_weights weights;
    std::shared_ptr<gguf_file> gguf;  // the GGUF file (tokenizer metadata); null for HF
    std::string hf_dir;               // the Hugging Face directory; empty for GGUF
    /// The image side of a vision-language checkpoint (tower, processor, image token);
    /// null for text models.
    std::shared_ptr<const multimodal::vision_language_model> vision;
};

/// Loads `path`: a GGUF file, a Hugging Face model directory, or a file inside one
/// (config.json, *.safetensors). Errors name the file and the problem (unknown
/// architecture, unsupported tensor type, missing tensor, shape mismatch, corrupt file).
result<loaded_model> load_model(const std::string& path);

/// Loads a GGUF file (architectures llama, qwen2, qwen2vl, qwen3).
result<loaded_model> load_gguf_model(const std::string& path);

/// Loads a Hugging Face directory: config.json (+ generation_config.json) and
/// model.safetensors or the shards listed by model.safetensors.index.json. F32/F16/BF16 only.
/// A LLaVA or Idefics3 directory loads its text model and its image side (`vision`).
result<loaded_model> load_hf_model(const std::string& dir);

}  // namespace actorlm

// test_model_writer: deterministic random-weight models of any supported
// architecture and shape, written as GGUF or as a Hugging Face directory with a
// usable byte-level BPE tokenizer. Same spec and seed -> same bytes. Used by
// tests, benchmarks and `actorlm make-test-model`. Runs on the caller's thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/dtype.hpp"
#include "model/model_config.hpp"
#include "model/model_weights.hpp"
#include "model/test_model_vocab.hpp"
#include "base/result.hpp"

namespace actorlm {

/// Shape and contents of a generated model.
struct test_model_spec {
    std::string arch =
        "llama";  // llama | mistral (a llama) | qwen2 (QKV biases) | qwen3 (Q/K norms)
    int64_t vocab_size = 512;
    int64_t hidden_size = 64;
    int64_t intermediate_size = 128;
    int64_t num_layers = 2;
    int64_t num_heads = 4;
    int64_t num_kv_heads = 2;
    int64_t head_dim = 16;
    int64_t max_position = 512;
    float rope_theta = 10000.0f;
    float rms_norm_eps = 1e-5f;
    bool tie_word_embeddings = true;
    int32_t sliding_window = 0;  // every layer's attention window; 0: full attention
    uint64_t seed = 1234;
    float init_std = 0.02f;          // std of matrix and bias values (normal distribution)
    dtype weight_type = dtype::f32;  // F32, F16, BF16 or Q8_0 (GGUF; HF then gets F32)
    std::string name;                // general.name; empty: "<preset or arch>-test"
};

/// Named shapes: "tiny" (the defaults above) and "smollm2-135m" (hidden 576, 30 layers,
/// 9 heads, 3 KV heads, head_dim 64, FFN 1536, vocab 49152, tied, theta 100000, ctx 2048).
result<test_model_spec> test_model_preset(const std::string& name);
/// The preset names, for help texts.
std::vector<std::string> test_model_preset_names();

/// A generated model in memory: F32 weights in NeoX (HF) layout whose values are already
/// rounded through spec.weight_type, so every output format holds the same numbers.
struct test_model {
    model_config config;
    model_weights weights;  // owns its buffers (weights.storage)
    test_vocab vocab;
    std::string hf_model_type;  // "llama", "mistral", "qwen2", "qwen3"
    dtype weight_type = dtype::f32;
};

/// Generates the model; errors name an invalid spec field.
result<test_model> generate_test_model(const test_model_spec& spec);

/// Generates and writes a GGUF file with spec.weight_type matrices and F32 1-D tensors.
status write_test_model_gguf(const test_model_spec& spec, const std::string& path);
/// Generates and writes a Hugging Face directory (F32 when spec.weight_type is Q8_0).
status write_test_model_hf(const test_model_spec& spec, const std::string& dir);

}  // namespace actorlm

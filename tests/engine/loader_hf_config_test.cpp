// config.json parsing: defaults, Qwen specifics, eos lists from
// generation_config.json, rope scaling, and errors that name the bad key.
#include <doctest/doctest.h>

#include "model/hf_config.hpp"

using namespace actorlm;

namespace {

const char* k_llama = R"({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
  "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
  "vocab_size": 128256, "max_position_embeddings": 131072, "rms_norm_eps": 1e-05,
  "rope_theta": 500000.0, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "tie_word_embeddings": false})";

}  // namespace

TEST_CASE("hf config maps a Llama-3.1 config.json") {
    auto c = parse_hf_config(k_llama);
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.message()));
    CHECK(c->arch == model_arch::llama);
    CHECK(c->hidden_size == 4096);
    CHECK(c->num_kv_heads == 8);
    CHECK(c->head_dim == 128);  // hidden / heads when head_dim is absent
    CHECK(c->max_position == 131072);
    CHECK(c->rope_theta == 500000.0f);
    CHECK(c->rope_neox);
    CHECK(c->rope_scaling.type == rope_scaling_type::llama3);
    CHECK(c->rope_scaling.factor == 8.0f);
    CHECK(c->rope_scaling.original_max_position == 8192);
    CHECK(c->bos_token_id == 128000);
    CHECK(c->eos_token_ids == std::vector<int32_t>{128001, 128008, 128009});
    CHECK_FALSE(c->tie_word_embeddings);
    CHECK_FALSE(c->attention_bias);
}

TEST_CASE("hf config maps qwen2 (biases) and qwen3 (q/k norm, explicit head_dim)") {
    auto q2 = parse_hf_config(R"({"model_type": "qwen2", "hidden_size": 896,
        "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
        "num_key_value_heads": 2, "vocab_size": 151936, "rope_theta": 1000000.0,
        "tie_word_embeddings": true, "eos_token_id": 151643, "rope_scaling": null})",
                              R"({"eos_token_id": [151645, 151643], "bos_token_id": 151643})");
    REQUIRE_MESSAGE(q2.ok(), (q2.ok() ? "" : q2.message()));
    CHECK(q2->arch == model_arch::qwen2);
    CHECK(q2->attention_bias);
    CHECK(q2->head_dim == 64);
    CHECK(q2->tie_word_embeddings);
    CHECK(q2->eos_token_ids == std::vector<int32_t>{151643, 151645});
    CHECK(q2->bos_token_id == 151643);
    CHECK(q2->rms_norm_eps == doctest::Approx(1e-6));  // transformers' default

    auto q3 = parse_hf_config(R"({"model_type": "qwen3", "hidden_size": 1024,
        "intermediate_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16,
        "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
        "attention_bias": false})");
    REQUIRE(q3.ok());
    CHECK(q3->arch == model_arch::qwen3);
    CHECK(q3->qk_norm);
    CHECK_FALSE(q3->attention_bias);
    CHECK(q3->head_dim == 128);
    CHECK(q3->num_kv_heads == 8);

    auto mistral = parse_hf_config(R"({"model_type": "mistral", "hidden_size": 64,
        "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "vocab_size": 100})");
    REQUIRE(mistral.ok());
    CHECK(mistral->arch == model_arch::llama);
    CHECK(mistral->num_kv_heads == 4);  // defaults to the head count
}

TEST_CASE("hf config errors name the problem") {
    auto err = [](const char* json) {
        auto c = parse_hf_config(json);
        REQUIRE_FALSE(c.ok());
        return c.message();
    };
    CHECK(err("not json").find("not a valid JSON object") != std::string::npos);
    CHECK(err(R"({"hidden_size": 1})").find("model_type") != std::string::npos);
    CHECK(err(R"({"model_type": "gemma2"})").find("model_type 'gemma2' is not supported") !=
          std::string::npos);
    CHECK(err(R"({"model_type": "llama", "hidden_size": 64})").find("intermediate_size") !=
          std::string::npos);
    CHECK(err(R"({"model_type": "llama", "hidden_size": "64", "intermediate_size": 1,
                  "num_hidden_layers": 1, "num_attention_heads": 1, "vocab_size": 1})")
              .find("'hidden_size' must be a non-negative integer") != std::string::npos);
    CHECK(err(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 1,
                  "num_hidden_layers": 1, "num_attention_heads": 6, "num_key_value_heads": 4,
                  "vocab_size": 1})")
              .find("not a multiple") != std::string::npos);
    CHECK(err(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 1,
                  "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 1,
                  "rope_scaling": {"rope_type": "yarn", "factor": 4.0}})")
              .find("rope_scaling type 'yarn' is not supported") != std::string::npos);
}

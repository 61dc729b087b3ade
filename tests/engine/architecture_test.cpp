// The architecture table: every model_arch has one entry reachable from each format's
// name, the recipes the loaders copy, and the feature masks and refusals the backends
// build on (model_recipe.hpp).
#include <doctest/doctest.h>

#include <unistd.h>

#include "model/architecture.hpp"
#include "model/hf_config.hpp"
#include "model/model_writer.hpp"
#include "model/test_model_writer.hpp"

using namespace actorlm;

TEST_CASE("architecture: each family is found by its GGUF name and every HF model type") {
    for (model_arch a : {model_arch::llama, model_arch::qwen2, model_arch::qwen3,
                         model_arch::gemma2, model_arch::gemma3, model_arch::bert}) {
        const architecture_info& e = architecture(a);
        CAPTURE(e.name);
        CHECK(e.arch == a);
        CHECK(std::string(model_arch_name(a)) == e.name);
        CHECK(find_gguf_architecture(e.name) == &e);
        REQUIRE_FALSE(e.hf_types.empty());
        for (const hf_model_type& t : e.hf_types)
            CHECK(find_hf_model_type(t.model_type).first == &e);
    }
    CHECK(find_gguf_architecture("gemma") == nullptr);
    CHECK(find_hf_model_type("gemma").first == nullptr);
    // llama.cpp's Qwen2-VL / Qwen2.5-VL text model is qwen2 with M-RoPE.
    CHECK(find_gguf_architecture("qwen2vl") == &architecture(model_arch::qwen2));
    CHECK(architecture(model_arch::llama).gguf_mrope_name == nullptr);
    CHECK(gguf_architecture_names() ==
          "llama, qwen2, qwen2vl, qwen3, gemma2, gemma3, qwen3moe, bert");
    CHECK(hf_model_type_names() ==
          "llama, mistral, qwen2, qwen3, gemma2, gemma3_text, mixtral, qwen3_moe, bert");
    CHECK(find_hf_model_type("gemma3_text").second->sliding_pattern == 6);
    CHECK(find_gguf_architecture("mixtral") == nullptr);  // llama.cpp writes `llama`
    CHECK(find_hf_model_type("mistral").second->window_keys == hf_window_keys::plain);
    CHECK_FALSE(architecture(model_arch::llama).gguf_rope_neox);
    CHECK(architecture(model_arch::qwen2).gguf_rope_neox);
}

TEST_CASE("architecture: recipes of the table reach the parsed config") {
    CHECK(recipe_features(architecture(model_arch::llama).recipe) == 0);
    CHECK(recipe_features(architecture(model_arch::qwen2).recipe) == recipe_qkv_bias);
    CHECK(recipe_features(architecture(model_arch::qwen3).recipe) == recipe_qk_norm);
    const char* base = R"("hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "vocab_size": 100})";
    auto q3 = parse_hf_config(std::string(R"({"model_type": "qwen3", )") + base, "");
    REQUIRE(q3.ok());
    CHECK(q3->recipe.qk_norm);
    CHECK_FALSE(q3->recipe.qkv_bias);
    auto bad = parse_hf_config(std::string(R"({"model_type": "gemma", )") + base, "");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message().find("'gemma' is not supported (supported: llama, mistral, qwen2, "
                             "qwen3, gemma2, gemma3_text, mixtral, qwen3_moe, bert)") !=
          std::string::npos);
}

TEST_CASE("recipe: a backend's refusal names every missing feature and nothing else") {
    model_recipe r;
    CHECK(require_recipe_features(r, 0, "x").ok());
    r.qkv_bias = true;
    r.activation = ffn_activation::gelu_tanh;
    r.attention_softcap = 50.0f;
    CHECK(recipe_features(r) == (recipe_qkv_bias | recipe_gelu_tanh | recipe_attention_softcap));
    const status s = require_recipe_features(r, recipe_qkv_bias, "the test backend");
    REQUIRE_FALSE(s.ok());
    CHECK(s.message() ==
          "the test backend does not implement GeGLU (gelu-tanh) FFN, attention "
          "logit soft-capping, which this model needs");
    CHECK(require_recipe_features(r, ~0u, "x").ok());
    CHECK(attention_score_scale(r, 16) == doctest::Approx(0.25));
    r.attention_scale = 0.5f;
    CHECK(attention_score_scale(r, 16) == 0.5f);
}

TEST_CASE("architecture: writers refuse a recipe their format would not load back") {
    auto m = generate_test_model(test_model_spec{});
    REQUIRE(m.ok());
    m->config.recipe.activation = ffn_activation::gelu_tanh;
    const std::string dir = "/tmp/actorlm_architecture_test_" + std::to_string(::getpid());
    const status g = write_gguf_model(m->config, m->weights, dir + ".gguf", {});
    REQUIRE_FALSE(g.ok());
    CHECK(g.message().find("a llama GGUF cannot hold this model's recipe") != std::string::npos);
    const status h = write_hf_model(m->config, m->weights, dir, {});
    REQUIRE_FALSE(h.ok());
    CHECK(h.message().find("a llama checkpoint cannot hold this model's recipe") !=
          std::string::npos);
    // A Qwen2 model relabelled qwen3 would lose its biases on load.
    test_model_spec q2;
    q2.arch = "qwen2";
    auto b = generate_test_model(q2);
    REQUIRE(b.ok());
    b->config.arch = model_arch::qwen3;
    CHECK(write_hf_model(b->config, b->weights, dir, {}).message().find("no attention biases") !=
          std::string::npos);
}

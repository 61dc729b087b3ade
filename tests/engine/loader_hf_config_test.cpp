// config.json parsing: defaults, Qwen specifics, eos lists from
// generation_config.json, rope scaling in transformers 4's and 5's layouts, the
// sliding window, and errors that name the bad key; plus written models that load
// back with the same logits (both RoPE layouts; windows through HF and GGUF).
#include <doctest/doctest.h>

#include <random>

#include "forward_driver.hpp"
#include "loader_test_support.hpp"
#include "model/hf_config.hpp"
#include "model/model_loader.hpp"
#include "model/model_writer.hpp"
#include "model/test_model_writer.hpp"

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
    CHECK_FALSE(c->recipe.qkv_bias);
}

TEST_CASE("hf config maps qwen2 (biases) and qwen3 (q/k norm, explicit head_dim)") {
    auto q2 = parse_hf_config(R"({"model_type": "qwen2", "hidden_size": 896,
        "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
        "num_key_value_heads": 2, "vocab_size": 151936, "rope_theta": 1000000.0,
        "tie_word_embeddings": true, "eos_token_id": 151643, "rope_scaling": null})",
                              R"({"eos_token_id": [151645, 151643], "bos_token_id": 151643})");
    REQUIRE_MESSAGE(q2.ok(), (q2.ok() ? "" : q2.message()));
    CHECK(q2->arch == model_arch::qwen2);
    CHECK(q2->recipe.qkv_bias);
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
    CHECK(q3->recipe.qk_norm);
    CHECK_FALSE(q3->recipe.qkv_bias);
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
    CHECK(err(R"({"model_type": "gemma"})").find("model_type 'gemma' is not supported") !=
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

namespace {

// A small config.json of `model_type` with `extra` members spliced in.
std::string small_config(const std::string& model_type, const std::string& extra) {
    return R"({"model_type": ")" + model_type + R"(", "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 3, "num_attention_heads": 4, "vocab_size": 100,
        "max_position_embeddings": 4096)" +
           (extra.empty() ? "" : ", " + extra) + "}";
}

model_config parse_ok(const std::string& json) {
    auto c = parse_hf_config(json);
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.message()));
    return *c;
}

std::string parse_error(const std::string& json) {
    auto c = parse_hf_config(json);
    REQUIRE_FALSE(c.ok());
    return c.message();
}

}  // namespace

// Found by tests/fuzz/hf_config_fuzz: 21474836472 layers sized a 2.7 GB per-layer table.
TEST_CASE("hf config refuses absurd sizes before sizing anything from them") {
    auto config = [](const std::string& layers, const std::string& vocab, const std::string& extra) {
        return R"({"model_type": "mistral", "hidden_size": 64, "intermediate_size": 128,
            "num_attention_heads": 4, "sliding_window": 8, "num_hidden_layers": )" +
               layers + R"(, "vocab_size": )" + vocab + extra + "}";
    };
    CHECK(parse_error(config("21474836472", "100", ""))
              .find("num_hidden_layers 21474836472 is above the limit 4096") != std::string::npos);
    CHECK(parse_error(config("2", "4294967296", ""))
              .find("vocab_size 4294967296 is above the limit") != std::string::npos);
    CHECK(parse_error(config("2", "100", R"(, "head_dim": 1099511627776)"))
              .find("head_dim 1099511627776 must be positive, even and at most 2^24") !=
          std::string::npos);
    CHECK(parse_ok(config("4096", "100", "")).num_layers == 4096);
}

TEST_CASE("hf config reads transformers 5 rope_parameters, flat and keyed by layer type") {
    // Qwen3 saved by transformers 5: no top-level rope_theta.
    auto q3 = parse_ok(small_config("qwen3", R"("rope_parameters": {"rope_theta": 1000000.0,
        "rope_type": "default"}, "layer_types": ["full_attention", "full_attention",
        "full_attention"], "use_sliding_window": false, "sliding_window": null)"));
    CHECK(q3.rope_theta == 1000000.0f);
    CHECK(q3.rope_scaling.type == rope_scaling_type::none);
    CHECK(q3.sliding_window == 0);

    auto l3 = parse_ok(small_config("llama", R"("rope_parameters": {"rope_type": "llama3",
        "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192})"));
    CHECK(l3.rope_theta == 500000.0f);
    CHECK(l3.rope_scaling.type == rope_scaling_type::llama3);
    CHECK(l3.rope_scaling.factor == 8.0f);
    CHECK(l3.rope_scaling.original_max_position == 8192);

    // transformers 5 fills a missing original_max_position_embeddings from the config's.
    auto l3d = parse_ok(small_config("llama", R"("rope_parameters": {"rope_type": "llama3",
        "factor": 2.0})"));
    CHECK(l3d.rope_scaling.original_max_position == 4096);
    CHECK(l3d.rope_theta == 10000.0f);  // theta absent everywhere: transformers' default

    // The legacy "type" key and a top-level theta that rope_parameters does not repeat.
    auto lin = parse_ok(small_config("mistral", R"("rope_theta": 20000.0,
        "rope_parameters": {"type": "linear", "factor": 2.0})"));
    CHECK(lin.rope_theta == 20000.0f);
    CHECK(lin.rope_scaling.type == rope_scaling_type::linear);

    // Keyed by layer type: only full-attention layers here, so only that entry is read.
    auto keyed = parse_ok(small_config("qwen2", R"("rope_parameters": {
        "full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 1000000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}})"));
    CHECK(keyed.rope_theta == 1000000.0f);
    CHECK(keyed.rope_scaling.type == rope_scaling_type::linear);
    CHECK(keyed.rope_scaling.factor == 4.0f);

    // Both layouts in one file are accepted when they agree.
    auto both = parse_ok(small_config("llama", R"("rope_theta": 40000.0,
        "rope_scaling": {"rope_type": "linear", "factor": 2.0},
        "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 40000.0})"));
    CHECK(both.rope_theta == 40000.0f);
}

TEST_CASE("hf config refuses RoPE it does not implement, by name") {
    CHECK(parse_error(small_config("qwen3", R"("rope_parameters": {"rope_type": "yarn",
        "factor": 4.0, "rope_theta": 1000000.0, "original_max_position_embeddings": 32768})"))
              .find("rope_parameters type 'yarn' is not supported (supported: default, linear, "
                    "llama3)") != std::string::npos);
    CHECK(parse_error(small_config("llama", R"("rope_scaling": {"type": "dynamic", "factor": 2})"))
              .find("rope_scaling type 'dynamic' is not supported") != std::string::npos);
    CHECK(parse_error(small_config("llama", R"("rope_parameters": {
        "full_attention": {"rope_type": "longrope", "factor": 2.0}})"))
              .find("rope_parameters.full_attention type 'longrope'") != std::string::npos);
    CHECK(parse_error(small_config("llama", R"("rope_parameters": {"rope_type": "default",
        "partial_rotary_factor": 0.5})"))
              .find("partial_rotary_factor 0.5 is not supported") != std::string::npos);
    CHECK(parse_error(small_config("llama", R"("rope_parameters": {
        "chunked_attention": {"rope_type": "default"}})"))
              .find("layer type 'chunked_attention' are not supported") != std::string::npos);
    CHECK(parse_error(small_config("llama", R"("rope_parameters": {
        "sliding_attention": {"rope_type": "default"}})"))
              .find("no 'full_attention' entry") != std::string::npos);
    // Sliding and full layers with different RoPE would need two tables.
    CHECK(parse_error(small_config("mistral", R"("sliding_window": 16, "layer_types":
        ["full_attention", "sliding_attention", "full_attention"], "rope_parameters": {
        "full_attention": {"rope_theta": 1000000.0},
        "sliding_attention": {"rope_theta": 10000.0}})"))
              .find("differ between full_attention and sliding_attention") != std::string::npos);
    CHECK(parse_error(small_config("llama", R"("rope_theta": 40000.0,
        "rope_parameters": {"rope_type": "default", "rope_theta": 50000.0},
        "rope_scaling": {"rope_type": "linear", "factor": 2.0})"))
              .find("rope_scaling and rope_parameters disagree") != std::string::npos);
}

TEST_CASE("hf config reads the sliding window as each model type's config class does") {
    CHECK(parse_ok(small_config("mistral", R"("sliding_window": 32)")).sliding_window == 32);
    CHECK(parse_ok(small_config("mistral", R"("sliding_window": 32)")).sliding_layers.empty());
    CHECK(parse_ok(small_config("mistral", R"("sliding_window": null)")).sliding_window == 0);
    CHECK(parse_ok(small_config("mistral", "")).sliding_window == 0);
    // Llama has no window; transformers ignores the key.
    CHECK(parse_ok(small_config("llama", R"("sliding_window": 32)")).sliding_window == 0);
    // Qwen2.5 ships use_sliding_window false with a window value: no window.
    CHECK(parse_ok(small_config("qwen2", R"("use_sliding_window": false, "sliding_window": 131072,
        "max_window_layers": 1)"))
              .sliding_window == 0);
    // With use_sliding_window, layers from max_window_layers on slide.
    auto q2 = parse_ok(small_config("qwen2", R"("use_sliding_window": true, "sliding_window": 8,
        "max_window_layers": 1)"));
    CHECK(q2.sliding_window == 8);
    CHECK(q2.sliding_layers == std::vector<bool>{false, true, true});
    CHECK(layer_attention_window(q2, 0) == 0);
    CHECK(layer_attention_window(q2, 2) == 8);
    auto all = parse_ok(small_config("qwen3", R"("use_sliding_window": true, "sliding_window": 8,
        "max_window_layers": 0)"));
    CHECK(all.sliding_window == 8);
    CHECK(all.sliding_layers.empty());
    CHECK(parse_ok(small_config("qwen3", R"("use_sliding_window": true, "sliding_window": 8,
        "max_window_layers": 28)"))
              .sliding_window == 0);  // no layer from 28 on
    // layer_types, when present, decides.
    auto typed = parse_ok(small_config("mistral", R"("sliding_window": 4, "layer_types":
        ["sliding_attention", "full_attention", "sliding_attention"])"));
    CHECK(typed.sliding_layers == std::vector<bool>{true, false, true});

    CHECK(parse_error(small_config("mistral", R"("sliding_window": 0)"))
              .find("sliding_window 0 must be in [1, 2^31)") != std::string::npos);
    CHECK(parse_error(small_config("mistral", R"("sliding_window": 8, "layer_types":
        ["chunked_attention", "full_attention", "full_attention"])"))
              .find("layer type 'chunked_attention' (layer 0) is not supported") !=
          std::string::npos);
    CHECK(parse_error(small_config("qwen2", R"("layer_types": ["full_attention"])"))
              .find("'layer_types' must be a list of 3 strings") != std::string::npos);
}

namespace {

// Logits of every position of `tokens` (one sequence, one prefill step) on the CPU.
std::vector<float> all_logits(const loaded_model& m, const std::vector<int32_t>& tokens) {
    auto ex = cpu_executor::create(m.config, m.weights, {16, 4, dtype::f32}, {});
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
    test::block_allocator alloc(16, 3);
    test::test_sequence s;
    s.tokens = tokens;
    std::vector<float> logits;
    const status st =
        (*ex)->forward(test::make_batch({{&s, int32_t(tokens.size())}}, 4, alloc, true), logits);
    REQUIRE_MESSAGE(st.ok(), st.message());
    return logits;
}

std::vector<int32_t> some_tokens(int n, int64_t vocab) {
    std::mt19937 rng(77);
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (int32_t& x : t) x = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
    return t;
}

}  // namespace

TEST_CASE("a tiny random model saved in transformers 4 and 5 RoPE layouts gives identical logits") {
    test::scratch_dir dir;
    for (int variant = 0; variant < 2; ++variant) {
        test_model_spec spec;
        spec.arch = variant == 0 ? "qwen3" : "llama";
        spec.rope_theta = variant == 0 ? 1000000.0f : 500000.0f;
        spec.vocab_size = 300;
        auto m = generate_test_model(spec);
        REQUIRE(m.ok());
        if (variant == 1) {  // Llama 3.1 scaling, with a short original context so it bites
            m->config.rope_scaling.type = rope_scaling_type::llama3;
            m->config.rope_scaling.factor = 8.0f;
            m->config.rope_scaling.original_max_position = 64;
        }
        const std::vector<int32_t> tokens = some_tokens(24, spec.vocab_size);
        std::vector<std::vector<float>> logits;
        for (hf_rope_layout layout : {hf_rope_layout::transformers4, hf_rope_layout::transformers5,
                                      hf_rope_layout::transformers5_by_layer_type}) {
            CAPTURE(variant);
            CAPTURE(static_cast<int>(layout));
            model_write_options opt;
            opt.hf_rope = layout;
            const std::string d = dir.file(spec.arch + std::to_string(static_cast<int>(layout)));
            REQUIRE(write_hf_model(m->config, m->weights, d, opt).ok());
            const std::vector<uint8_t> bytes = test::read_bytes(d + "/config.json");
            const std::string json(bytes.begin(), bytes.end());
            CHECK((json.find("rope_parameters") != std::string::npos) ==
                  (layout != hf_rope_layout::transformers4));
            auto loaded = load_model(d);
            REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.message()));
            CHECK(loaded->config.rope_theta == spec.rope_theta);
            CHECK(loaded->config.rope_scaling.type == m->config.rope_scaling.type);
            logits.push_back(all_logits(*loaded, tokens));
        }
        CHECK(logits[1] == logits[0]);
        CHECK(logits[2] == logits[0]);
    }
}

TEST_CASE("a sliding window survives HF and GGUF files and masks only past the window") {
    test::scratch_dir dir;
    test_model_spec spec;
    spec.arch = "mistral";
    spec.vocab_size = 300;
    spec.sliding_window = 8;
    REQUIRE(write_test_model_hf(spec, dir.file("hf")).ok());
    REQUIRE(write_test_model_gguf(spec, dir.file("m.gguf")).ok());
    spec.sliding_window = 0;
    REQUIRE(write_test_model_hf(spec, dir.file("full")).ok());
    auto hf = load_model(dir.file("hf"));
    auto gg = load_model(dir.file("m.gguf"));
    auto full = load_model(dir.file("full"));
    REQUIRE(hf.ok());
    REQUIRE_MESSAGE(gg.ok(), (gg.ok() ? "" : gg.message()));
    REQUIRE(full.ok());
    CHECK(hf->config.sliding_window == 8);
    CHECK(gg->config.sliding_window == 8);
    CHECK(full->config.sliding_window == 0);

    const int n = 20;
    const std::vector<int32_t> tokens = some_tokens(n, spec.vocab_size);
    const std::vector<float> a = all_logits(*hf, tokens), b = all_logits(*gg, tokens),
                             f = all_logits(*full, tokens);
    const size_t vocab = size_t(spec.vocab_size);
    double hf_vs_gguf = 0, before = 0, after = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        hf_vs_gguf = std::max(hf_vs_gguf, double(std::abs(a[i] - b[i])));
        (i / vocab < 8 ? before : after) =
            std::max(i / vocab < 8 ? before : after, double(std::abs(a[i] - f[i])));
    }
    CHECK(hf_vs_gguf < 1e-4);  // GGUF's interleaved Q/K rows: same model up to rounding
    CHECK(before == 0.0);      // positions 0..7 see their whole context either way
    CHECK(after > 1e-4);       // position 8 on loses key 0
}

TEST_CASE("hf config reads Qwen2.5-VL's text model with its mrope_section, in both layouts") {
    // transformers 5: the text model's keys under text_config, RoPE in rope_parameters; the
    // top-level tie_word_embeddings applies.
    const std::string v5 = R"({"model_type": "qwen2_5_vl", "image_token_id": 99,
        "tie_word_embeddings": true, "vision_config": {"depth": 1},
        "text_config": {"model_type": "qwen2_5_vl_text", "hidden_size": 64,
        "intermediate_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4,
        "num_key_value_heads": 2, "vocab_size": 100, "rms_norm_eps": 1e-6,
        "sliding_window": 32768, "use_sliding_window": false,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0,
                            "mrope_section": [2, 3, 3]}}})";
    const model_config c5 = parse_ok(v5);
    CHECK(c5.arch == model_arch::qwen2);
    CHECK(c5.recipe.qkv_bias);
    CHECK(c5.mrope_section == std::vector<int32_t>{2, 3, 3});
    CHECK(c5.rope_theta == 1000000.0f);
    CHECK(c5.num_kv_heads == 2);
    CHECK(c5.sliding_window == 0);
    CHECK(c5.tie_word_embeddings);
    // transformers 4: everything at the top level, rope_scaling {"type": "mrope", ...}.
    const model_config c4 = parse_ok(small_config(
        "qwen2_5_vl", R"("rope_theta": 1000000.0, "vision_config": {"depth": 1},
        "rope_scaling": {"type": "mrope", "mrope_section": [4, 2, 2]})"));
    CHECK(c4.arch == model_arch::qwen2);
    CHECK(c4.mrope_section == std::vector<int32_t>{4, 2, 2});
    CHECK(c4.rope_scaling.type == rope_scaling_type::none);
    // Other model types ignore the key, as their transformers classes do.
    CHECK(parse_ok(small_config("qwen2", R"("rope_scaling": {"type": "default",
        "mrope_section": [4, 2, 2]})")).mrope_section.empty());
    // A section that does not cover head_dim / 2 names both numbers; a missing one is named.
    const std::string bad = parse_error(small_config(
        "qwen2_5_vl", R"("rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]})"));
    CHECK(bad.find("mrope_section [16, 24, 24] covers 64 rotary pairs but head_dim 16 has 8") !=
          std::string::npos);
    CHECK(parse_error(small_config("qwen2_5_vl", R"("rope_scaling": {"type": "mrope",
        "mrope_section": [4, 4]})")).find("3 entries") != std::string::npos);
    CHECK(parse_error(small_config("qwen2_5_vl", "")).find("mrope_section") != std::string::npos);
    CHECK(parse_error(small_config("qwen2_vl", "")).find("Qwen2-VL") != std::string::npos);
}

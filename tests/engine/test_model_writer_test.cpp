// Test-model generator: every architecture written as GGUF and as an HF
// directory loads back with the requested config and exactly the generated
// weights; formats agree with each other; output is deterministic per seed.
#include <doctest/doctest.h>

#include "loader_test_support.hpp"
#include "model/model_loader.hpp"
#include "model/tensor_codec.hpp"
#include "model/test_model_writer.hpp"

using namespace actorlm;
using actorlm::test::check_same_weights;
using actorlm::test::scratch_dir;

namespace {

test_model_spec small_spec(const std::string& arch, dtype type) {
    test_model_spec s;
    s.arch = arch;
    s.vocab_size = 300;
    s.hidden_size = 64;
    s.intermediate_size = 96;
    s.num_layers = 2;
    s.num_heads = 4;
    s.num_kv_heads = 2;
    s.head_dim = 16;
    s.weight_type = type;
    s.tie_word_embeddings = arch != "qwen2";  // cover both
    return s;
}

void check_config(const model_config& c, const test_model_spec& s) {
    CHECK(c.vocab_size == s.vocab_size);
    CHECK(c.hidden_size == s.hidden_size);
    CHECK(c.intermediate_size == s.intermediate_size);
    CHECK(c.num_layers == s.num_layers);
    CHECK(c.num_heads == s.num_heads);
    CHECK(c.num_kv_heads == s.num_kv_heads);
    CHECK(c.head_dim == s.head_dim);
    CHECK(c.max_position == s.max_position);
    CHECK(c.rope_theta == s.rope_theta);
    CHECK(c.rms_norm_eps == s.rms_norm_eps);
    CHECK(c.tie_word_embeddings == s.tie_word_embeddings);
    CHECK(c.recipe.qkv_bias == (s.arch == "qwen2"));
    CHECK(c.recipe.qk_norm == (s.arch == "qwen3"));
    CHECK(c.bos_token_id == 0);
    CHECK(c.eos_token_ids == std::vector<int32_t>{0});
}

}  // namespace

TEST_CASE("test models of every architecture round-trip through GGUF and HF") {
    for (const char* arch : {"llama", "mistral", "qwen2", "qwen3"}) {
        for (dtype type : {dtype::f32, dtype::f16, dtype::bf16}) {
            CAPTURE(arch);
            CAPTURE(dtype_name(type));
            scratch_dir dir;
            test_model_spec spec = small_spec(arch, type);
            auto gen = generate_test_model(spec);
            REQUIRE(gen.ok());
            REQUIRE(write_test_model_gguf(spec, dir.file("m.gguf")).ok());
            REQUIRE(write_test_model_hf(spec, dir.file("hf")).ok());
            auto g = load_model(dir.file("m.gguf"));
            REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.message()));
            auto h = load_model(dir.file("hf"));
            REQUIRE_MESSAGE(h.ok(), (h.ok() ? "" : h.message()));
            check_config(g->config, spec);
            check_config(h->config, spec);
            // GGUF llama stores Q/K interleaved (llama.cpp's permutation); the rest NeoX.
            CHECK(g->config.rope_neox ==
                  (std::string(arch) == "qwen2" || std::string(arch) == "qwen3"));
            CHECK(h->config.rope_neox);
            CHECK(g->weights.layers[0].wq.type == type);
            CHECK(h->weights.layers[0].w_down.type == type);
            CHECK(g->weights.layers[1].ffn_norm.type == dtype::f32);
            // Both files hold exactly the generated numbers.
            check_same_weights(gen->config, gen->weights, g->config, g->weights);
            check_same_weights(gen->config, gen->weights, h->config, h->weights);
            // The tokenizer travels with the model.
            CHECK(g->gguf->get_string("tokenizer.ggml.model") == "gpt2");
            CHECK(g->gguf->get_string_array("tokenizer.ggml.tokens").size() == 300);
            CHECK(std::filesystem::exists(dir.file("hf/tokenizer.json")));
            CHECK(std::filesystem::exists(dir.file("hf/tokenizer_config.json")));
        }
    }
}

TEST_CASE("GGUF llama Q/K rows are llama.cpp's permutation of the HF rows") {
    scratch_dir dir;
    test_model_spec spec = small_spec("llama", dtype::f32);
    REQUIRE(write_test_model_gguf(spec, dir.file("m.gguf")).ok());
    REQUIRE(write_test_model_hf(spec, dir.file("hf")).ok());
    auto g = load_model(dir.file("m.gguf"));
    auto h = load_model(dir.file("hf"));
    REQUIRE(g.ok());
    REQUIRE(h.ok());
    const tensor& gq = g->weights.layers[0].wk;
    const tensor& hq = h->weights.layers[0].wk;
    const int64_t hd = 16, cols = 64;
    auto row = [&](const tensor& t, int64_t r) {
        return static_cast<const float*>(t.data) + r * cols;
    };
    for (int64_t head = 0; head < 2; ++head)
        for (int64_t i = 0; i < hd / 2; ++i) {
            CHECK(std::equal(row(gq, head * hd + 2 * i), row(gq, head * hd + 2 * i) + cols,
                             row(hq, head * hd + i)));
            CHECK(std::equal(row(gq, head * hd + 2 * i + 1), row(gq, head * hd + 2 * i + 1) + cols,
                             row(hq, head * hd + hd / 2 + i)));
        }
    CHECK_FALSE(std::equal(row(gq, 1), row(gq, 1) + cols, row(hq, 1)));
}

TEST_CASE("Q8_0 test models quantize like ggml and match the F32 HF copy") {
    scratch_dir dir;
    test_model_spec spec = small_spec("qwen2", dtype::q8_0);
    REQUIRE(write_test_model_gguf(spec, dir.file("q.gguf")).ok());
    REQUIRE(write_test_model_hf(spec, dir.file("hf")).ok());
    auto g = load_model(dir.file("q.gguf"));
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.message()));
    auto h = load_model(dir.file("hf"));
    REQUIRE(h.ok());
    CHECK(g->weights.layers[0].wq.type == dtype::q8_0);
    CHECK(g->weights.token_embedding.type == dtype::q8_0);
    CHECK(g->weights.layers[0].bq.type == dtype::f32);
    CHECK(h->weights.layers[0].wq.type == dtype::f32);
    CHECK(g->gguf->get_int("general.file_type") == 7);  // LLAMA_FTYPE_MOSTLY_Q8_0
    // The generator rounds values through Q8_0, so dequantized GGUF == F32 HF exactly.
    check_same_weights(g->config, g->weights, h->config, h->weights);
    // Each block's scale is max|x| / 127: some element of every block hits +-127.
    const auto* p = static_cast<const uint8_t*>(g->weights.layers[0].wv.data);
    for (size_t b = 0; b < g->weights.layers[0].wv.num_bytes / 34; ++b) {
        int amax = 0;
        for (int j = 0; j < 32; ++j)
            amax = std::max(amax, std::abs(int(int8_t(p[b * 34 + 2 + j]))));
        CHECK(amax == 127);
    }
}

TEST_CASE("test models are deterministic per seed") {
    scratch_dir dir;
    test_model_spec spec = small_spec("qwen3", dtype::f16);
    REQUIRE(write_test_model_gguf(spec, dir.file("a.gguf")).ok());
    REQUIRE(write_test_model_gguf(spec, dir.file("b.gguf")).ok());
    REQUIRE(write_test_model_hf(spec, dir.file("ha")).ok());
    REQUIRE(write_test_model_hf(spec, dir.file("hb")).ok());
    spec.seed = 99;
    REQUIRE(write_test_model_gguf(spec, dir.file("c.gguf")).ok());
    CHECK(test::read_bytes(dir.file("a.gguf")) == test::read_bytes(dir.file("b.gguf")));
    CHECK(test::read_bytes(dir.file("ha/model.safetensors")) ==
          test::read_bytes(dir.file("hb/model.safetensors")));
    CHECK(test::read_bytes(dir.file("a.gguf")) != test::read_bytes(dir.file("c.gguf")));
    // Weights are small and centred, norms near 1: activations stay sane.
    auto g = load_model(dir.file("a.gguf"));
    REQUIRE(g.ok());
    auto emb = tensor_to_f32(g->weights.token_embedding);
    REQUIRE(emb.ok());
    double sum = 0, sq = 0;
    for (float x : *emb) {
        sum += x;
        sq += double(x) * x;
    }
    double n = double(emb->size());
    CHECK(std::abs(sum / n) < 0.002);
    CHECK(std::sqrt(sq / n) == doctest::Approx(0.02).epsilon(0.05));
    const float* qn = static_cast<const float*>(g->weights.layers[0].q_norm.data);
    for (int i = 0; i < 16; ++i) CHECK(std::abs(qn[i] - 1.0f) <= 0.25f);
}

TEST_CASE("test model presets and invalid specs") {
    auto s = test_model_preset("smollm2-135m");
    REQUIRE(s.ok());
    CHECK(s->hidden_size == 576);
    CHECK(s->num_layers == 30);
    CHECK(s->num_heads == 9);
    CHECK(s->num_kv_heads == 3);
    CHECK(s->head_dim == 64);
    CHECK(s->intermediate_size == 1536);
    CHECK(s->vocab_size == 49152);
    CHECK(s->tie_word_embeddings);
    CHECK(s->rope_theta == 100000.0f);
    CHECK(s->max_position == 2048);
    CHECK_FALSE(test_model_preset("gpt-5").ok());

    test_model_spec bad;
    bad.arch = "gemma";
    CHECK(generate_test_model(bad).message().find("unknown architecture 'gemma'") !=
          std::string::npos);
    bad = {};
    bad.num_kv_heads = 3;
    CHECK(generate_test_model(bad).message().find("not a multiple") != std::string::npos);
    bad = {};
    bad.hidden_size = 48;
    bad.weight_type = dtype::q8_0;
    CHECK(generate_test_model(bad).message().find("divisible by 32") != std::string::npos);
    bad = {};
    bad.vocab_size = 10;
    CHECK(generate_test_model(bad).message().find("too small") != std::string::npos);
}

// model_loader on the shared reference models: stories260K as GGUF and as a
// Hugging Face directory must describe the same model (same config, same
// weights, Q/K rows differing only by llama.cpp's RoPE permutation).
#include <doctest/doctest.h>

#include <cstring>

#include "model/model_loader.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using actorlm::test::shared_path;

namespace {

void check_stories_config(const model_config& c) {
    CHECK(c.arch == model_arch::llama);
    CHECK(c.hidden_size == 64);
    CHECK(c.num_layers == 5);
    CHECK(c.num_heads == 8);
    CHECK(c.num_kv_heads == 4);
    CHECK(c.head_dim == 8);
    CHECK(c.intermediate_size == 172);
    CHECK(c.vocab_size == 512);
    CHECK(c.tie_word_embeddings);
    CHECK(c.rms_norm_eps == doctest::Approx(1e-5));
    CHECK(c.rope_theta == doctest::Approx(10000.0));
    CHECK(c.bos_token_id == 1);
    CHECK(c.eos_token_ids == std::vector<int32_t>{2});
    CHECK_FALSE(c.recipe.qkv_bias);
    CHECK_FALSE(c.recipe.qk_norm);
}

const float* f32(const tensor& t) { return static_cast<const float*>(t.data); }

// Row r of a {rows, cols} F32 matrix equals row s of another.
bool same_row(const tensor& a, int64_t r, const tensor& b, int64_t s) {
    return std::memcmp(f32(a) + r * a.cols(), f32(b) + s * b.cols(), size_t(a.cols()) * 4) == 0;
}

// GGUF llama Q/K rows: within a head, row 2i + h holds HF row h * head_dim / 2 + i.
void check_permuted(const tensor& gguf, const tensor& hf, int64_t heads, int64_t head_dim) {
    REQUIRE(gguf.shape == hf.shape);
    for (int64_t head = 0; head < heads; ++head)
        for (int64_t i = 0; i < head_dim / 2; ++i)
            for (int64_t half = 0; half < 2; ++half) {
                int64_t g = head * head_dim + 2 * i + half;
                int64_t h = head * head_dim + half * head_dim / 2 + i;
                REQUIRE_MESSAGE(same_row(gguf, g, hf, h), gguf.name << " row " << g);
            }
}

}  // namespace

TEST_CASE("loader reads stories260K.gguf into the expected config") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto m = load_model(shared_path("models/stories260K.gguf"));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
    check_stories_config(m->config);
    CHECK_FALSE(m->config.rope_neox);  // llama.cpp permuted Q/K for interleaved RoPE
    CHECK(m->gguf != nullptr);
    CHECK(m->hf_dir.empty());
    const model_weights& w = m->weights;
    CHECK(w.token_embedding.shape == std::vector<int64_t>{512, 64});
    CHECK(w.lm_head.data == w.token_embedding.data);  // tied
    REQUIRE(w.layers.size() == 5);
    CHECK(w.layers[4].wq.shape == std::vector<int64_t>{64, 64});
    CHECK(w.layers[4].wk.shape == std::vector<int64_t>{32, 64});
    CHECK(w.layers[4].w_down.shape == std::vector<int64_t>{64, 172});
    CHECK(w.layers[0].attn_norm.type == dtype::f32);
    CHECK_FALSE(w.layers[0].bq.present());
}

TEST_CASE("loader reads the stories260K Hugging Face directory as the same model") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf/config.json");
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto hf = load_model(shared_path("models/stories260K-hf"));
    REQUIRE_MESSAGE(hf.ok(), (hf.ok() ? "" : hf.message()));
    auto gg = load_model(shared_path("models/stories260K.gguf"));
    REQUIRE(gg.ok());
    check_stories_config(hf->config);
    CHECK(hf->config.rope_neox);
    CHECK(hf->config.max_position == 512);
    CHECK(hf->gguf == nullptr);
    CHECK(hf->hf_dir == shared_path("models/stories260K-hf"));

    const model_weights& a = gg->weights;
    const model_weights& b = hf->weights;
    auto equal = [](const tensor& x, const tensor& y) {
        return x.shape == y.shape && x.num_bytes == y.num_bytes &&
               std::memcmp(x.data, y.data, x.num_bytes) == 0;
    };
    CHECK(equal(a.token_embedding, b.token_embedding));
    CHECK(equal(a.output_norm, b.output_norm));
    for (size_t l = 0; l < a.layers.size(); ++l) {
        CAPTURE(l);
        CHECK(equal(a.layers[l].wv, b.layers[l].wv));
        CHECK(equal(a.layers[l].wo, b.layers[l].wo));
        CHECK(equal(a.layers[l].w_gate, b.layers[l].w_gate));
        CHECK(equal(a.layers[l].w_down, b.layers[l].w_down));
        CHECK(equal(a.layers[l].ffn_norm, b.layers[l].ffn_norm));
        CHECK_FALSE(equal(a.layers[l].wq, b.layers[l].wq));
        check_permuted(a.layers[l].wq, b.layers[l].wq, 8, 8);
        check_permuted(a.layers[l].wk, b.layers[l].wk, 4, 8);
    }
}

TEST_CASE("loader accepts a path to config.json or a safetensors file inside an HF directory") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf/config.json");
    auto a = load_model(shared_path("models/stories260K-hf/config.json"));
    REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.message()));
    CHECK(a->config.num_layers == 5);
    auto b = load_model(shared_path("models/stories260K-hf/model.safetensors"));
    REQUIRE(b.ok());
    CHECK(b->config.vocab_size == 512);
}

TEST_CASE("loader reads the F16 llama-2-tiny-random GGUF") {
    ACTORLM_REQUIRE_SHARED("models/llama-2-tiny-random.gguf");
    auto m = load_model(shared_path("models/llama-2-tiny-random.gguf"));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
    const model_config& c = m->config;
    CHECK(c.arch == model_arch::llama);
    CHECK(c.vocab_size == 32000);
    CHECK(c.num_layers == 1);
    CHECK(c.hidden_size == 8);
    CHECK_FALSE(c.rope_neox);
    CHECK(c.bos_token_id == 1);
    CHECK(m->weights.layers[0].wq.type == dtype::f16);
    CHECK(m->weights.layers[0].attn_norm.type == dtype::f32);
}

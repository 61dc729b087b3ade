// A BERT encoder (tests/data/bert: a tiny random BertModel with sentence-transformers mean
// pooling, and its GGUF from llama.cpp's converter) loads from both formats, tokenizes to
// transformers' ids, and embeds each sentence within 1e-4 cosine of transformers' mean- and
// CLS-pooled, normalized vectors, batched through llm_engine. Its config's pooling is read,
// generation is refused, and a backend without the encoder features refuses the recipe.
#include <doctest/doctest.h>

#include "core/llm_engine.hpp"
#include "model/architecture.hpp"
#include "model/model_loader.hpp"
#include "support/bert_references.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace {

// 1 - cosine within which an embedding matches transformers' (the bound).
constexpr double k_cosine_tolerance = 1e-4;

void check_embeddings(const std::string& path) {
    CAPTURE(path);
    const std::vector<test::bert_sentence> refs = test::read_bert_references();
    REQUIRE(refs.size() >= 3);

    auto tok = load_tokenizer_for_model(path);
    REQUIRE_MESSAGE(tok.ok(), (tok.ok() ? "" : tok.message()));
    for (const test::bert_sentence& r : refs) {
        CAPTURE(r.text);
        CHECK((*tok)->encode(r.text, /*add_special=*/true, /*parse_special=*/false) == r.ids);
    }

    actorlm::engine_config cfg;
    cfg.model_path = path;
    cfg.kv_cache_memory_bytes = 4 << 20;
    cfg.num_threads = 1;
    auto eng = llm_engine::create(cfg);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    // Every sentence in MEAN and CLS, all in one batch: each prompt still attends only to
    // its own tokens.
    std::vector<actorlm::generate_request> reqs;
    for (auto kind : {pooling_params::kind::mean, pooling_params::kind::cls})
        for (const test::bert_sentence& r : refs) {
            actorlm::generate_request q;
            q.prompt_token_ids = r.ids;
            q.params.pooling = pooling_params{kind, true};
            reqs.push_back(q);
        }
    auto res = (*eng)->generate(reqs);
    REQUIRE_MESSAGE(res.ok(), (res.ok() ? "" : res.message()));
    REQUIRE(res->size() == reqs.size());
    for (size_t i = 0; i < reqs.size(); ++i) {
        const test::bert_sentence& r = refs[i % refs.size()];
        const bool mean = i < refs.size();
        CAPTURE(r.text);
        CAPTURE(mean);
        const std::vector<float>& got = (*res)[i].embedding;
        REQUIRE(got.size() == r.mean.size());
        const double cos = test::cosine(got, mean ? r.mean : r.cls);
        CAPTURE(1.0 - cos);
        CHECK(1.0 - cos < k_cosine_tolerance);
    }

    // An encoder has no lm head: a generation request is refused, naming the reason.
    actorlm::generate_request gen;
    gen.prompt = refs[0].text;
    gen.params.max_tokens = 2;
    const status st = (*eng)->add_request(gen);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find("embedding model") != std::string::npos);
}

}  // namespace

TEST_CASE("bert: the HF directory embeds as transformers, mean and CLS pooled") {
    check_embeddings(test::bert_hf_dir());
}

TEST_CASE("bert: the GGUF from llama.cpp's converter embeds as transformers") {
    check_embeddings(test::bert_gguf());
}

TEST_CASE("bert: both formats declare the sentence-transformers pooling, mean and normalized") {
    for (const std::string& path : {test::bert_hf_dir(), test::bert_gguf()}) {
        CAPTURE(path);
        auto m = load_model(path);
        REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
        CHECK(m->config.arch == model_arch::bert);
        REQUIRE(m->config.pooling.has_value());
        CHECK(m->config.pooling->type == pooling_params::kind::mean);
        CHECK(m->config.pooling->normalize);
        CHECK_FALSE(m->config.recipe.causal);
        CHECK(m->config.rms_norm_eps == doctest::Approx(1e-12f));
    }
}

TEST_CASE("bert: a backend lacking the encoder features refuses the recipe, naming them") {
    const model_recipe& r = architecture(model_arch::bert).recipe;
    const uint32_t decoder_only = recipe_qkv_bias | recipe_qk_norm;
    const status st = require_recipe_features(r, decoder_only, "the test backend");
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find("bidirectional (encoder) attention") != std::string::npos);
    CHECK(st.message().find("LayerNorm") != std::string::npos);
    CHECK(st.message().find("absolute position embeddings") != std::string::npos);
}

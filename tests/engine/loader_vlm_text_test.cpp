// The text model inside a vision-language checkpoint: a LLaVA, Idefics3 or Qwen2.5-VL
// directory (text_config, weights under language_model.model.* / model.text_model.* /
// model.*) loads as its text model and, for a prompt without images, gives transformers'
// logits (references from tools/make-vlm-text-references.py on the tiny checkpoints in
// tests/data/mm/models). Qwen2.5-VL's M-RoPE is then ordinary RoPE (three equal positions).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <simdjson.h>

#include "backends/backend.hpp"
#include "forward_driver.hpp"
#include "model/model_loader.hpp"
#include "multimodal/vision_language.hpp"
#include "support/mm_references.hpp"

using namespace actorlm;

namespace vlm_text_test {


struct text_reference {
    std::vector<int32_t> ids;
    std::vector<double> last_logits;
};

text_reference read_reference(const std::string& family) {
    std::ifstream in(test::mm_model_dir(family) + "/text_logits.json");
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE_FALSE(parser.parse(s).get(root));
    text_reference r;
    for (auto v : root["input_ids"].get_array()) r.ids.push_back(static_cast<int32_t>(int64_t(v)));
    for (auto v : root["last_logits"].get_array()) r.last_logits.push_back(double(v));
    return r;
}

}  // namespace vlm_text_test

using namespace vlm_text_test;

TEST_CASE("loader: the text model of a LLaVA, Idefics3 or Qwen2.5-VL directory matches "
          "transformers") {
    for (const std::string family : {"llava", "idefics3", "qwen25vl"}) {
        CAPTURE(family);
        auto m = load_hf_model(test::mm_model_dir(family));
        REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
        const text_reference ref = read_reference(family);
        REQUIRE(static_cast<int64_t>(ref.last_logits.size()) == m->config.vocab_size);
        cpu_executor_options opt;
        opt.num_threads = 1;
        auto ex = cpu_executor::create(m->config, m->weights, {8, 8, dtype::f32}, opt);
        REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
        test::test_sequence seq;
        seq.tokens = ref.ids;
        test::block_allocator alloc(8, 1);
        const forward_batch b = test::make_batch({{&seq, static_cast<int32_t>(ref.ids.size())}},
                                                 8, alloc, false);
        std::vector<float> logits;
        REQUIRE(ex.value()->forward(b, logits).ok());
        REQUIRE(logits.size() == static_cast<size_t>(m->config.vocab_size));
        double worst = 0.0;
        for (size_t v = 0; v < logits.size(); ++v)
            worst = std::max(worst, std::abs(logits[v] - ref.last_logits[v]));
        CHECK(worst < 1e-4);
        MESSAGE(family << ": largest text-only logit difference " << worst);
    }
}

TEST_CASE("loader: a Qwen2.5-VL directory loads with M-RoPE and its image side") {
    auto m = load_hf_model(test::mm_model_dir("qwen25vl"));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
    CHECK(m->config.arch == model_arch::qwen2);
    CHECK(m->config.recipe.qkv_bias);
    CHECK(m->config.mrope_section == std::vector<int32_t>{2, 3, 3});
    CHECK(m->config.head_dim == 16);
    REQUIRE(m->vision != nullptr);
    CHECK(m->vision->image_token_id == 127);
    // The same model with a section that does not cover the head is refused by the executor.
    model_config bad = m->config;
    bad.mrope_section = {2, 3, 4};
    auto ex = cpu_executor::create(bad, m->weights, {8, 8, dtype::f32}, {});
    REQUIRE_FALSE(ex.ok());
    CHECK(ex.message().find("covers 9 rotary pairs but head_dim 16 has 8") != std::string::npos);

    // A batch's M-RoPE positions must be three per token, and only for an M-RoPE model.
    auto good = cpu_executor::create(m->config, m->weights, {8, 8, dtype::f32}, {});
    REQUIRE(good.ok());
    test::test_sequence seq;
    seq.tokens = {1, 2, 3};
    test::block_allocator alloc(8, 1);
    forward_batch b = test::make_batch({{&seq, 3}}, 8, alloc, false);
    b.mrope_positions = {0, 0, 0};
    std::vector<float> logits;
    CHECK(good.value()->forward(b, logits).message().find("3 M-RoPE positions for 3 tokens") !=
          std::string::npos);
    auto llava = load_hf_model(test::mm_model_dir("llava"));
    REQUIRE(llava.ok());
    CHECK(llava->config.mrope_section.empty());
    auto plain = cpu_executor::create(llava->config, llava->weights, {8, 8, dtype::f32}, {});
    REQUIRE(plain.ok());
    b.mrope_positions.assign(9, 0);
    CHECK(plain.value()->forward(b, logits).message().find("ordinary RoPE") != std::string::npos);
}

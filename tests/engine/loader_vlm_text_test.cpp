// The text model inside a vision-language checkpoint: a LLaVA or Idefics3 directory
// (text_config, weights under language_model.model.* / model.text_model.*) loads as its
// text model and, for a prompt without images, gives transformers' logits (references
// from tools/make-vlm-text-references.py on the tiny checkpoints in tests/data/mm/models).
// A Qwen2.5-VL directory is refused by name: its text model needs M-RoPE.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <simdjson.h>

#include "backends/backend.hpp"
#include "forward_driver.hpp"
#include "model/model_loader.hpp"
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

TEST_CASE("loader: the text model of a LLaVA or Idefics3 directory matches transformers") {
    for (const std::string family : {"llava", "idefics3"}) {
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
    }
}

TEST_CASE("loader: a Qwen2.5-VL directory is refused naming M-RoPE") {
    auto m = load_hf_model(test::mm_model_dir("qwen25vl"));
    REQUIRE_FALSE(m.ok());
    CHECK(m.message().find("M-RoPE") != std::string::npos);
}

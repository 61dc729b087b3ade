// Qwen2.5-VL's text model as llama.cpp's converter writes it (general.architecture
// "qwen2vl": qwen2's tensors and keys plus rope.dimension_sections): the tiny checkpoint
// written as GGUF loads back as the same model with the same M-RoPE sections and logits,
// and every malformed dimension_sections is a load error naming the key.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>

#include "backends/backend.hpp"
#include "forward_driver.hpp"
#include "loader_test_support.hpp"
#include "model/gguf_writer.hpp"
#include "model/model_loader.hpp"
#include "model/model_writer.hpp"
#include "model/test_model_writer.hpp"
#include "support/mm_references.hpp"

using namespace actorlm;

namespace qwen2vl_gguf_test {

const char* const k_sections_key = "qwen2vl.rope.dimension_sections";

// The last token's logits of `ids` as one prefill. With `mrope`, the batch carries those
// rotary positions (three per token), so the sections decide which pairs turn with which.
std::vector<float> last_logits(const model_config& config, const model_weights& weights,
                               const std::vector<int32_t>& ids,
                               const std::vector<int32_t>& mrope = {}) {
    cpu_executor_options opt;
    opt.num_threads = 1;
    auto ex = cpu_executor::create(config, weights, {8, 8, dtype::f32}, opt);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
    test::test_sequence seq;
    seq.tokens = ids;
    test::block_allocator alloc(8, 1);
    forward_batch b = test::make_batch({{&seq, static_cast<int32_t>(ids.size())}}, 8, alloc, false);
    b.mrope_positions = mrope;
    std::vector<float> logits;
    const status s = ex.value()->forward(b, logits);
    REQUIRE_MESSAGE(s.ok(), s.message());
    return logits;
}

double largest_difference(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double worst = 0.0;
    for (size_t i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
    return worst;
}

// A copy of GGUF `src` with dimension_sections replaced by `sections` (nullopt: dropped),
// relabelled as architecture `arch` (general.architecture and the key prefix).
void write_with_sections(const std::string& src, const std::string& dst,
                         const std::optional<std::vector<int32_t>>& sections,
                         const std::string& arch = "qwen2vl") {
    auto f = gguf_file::open(src);
    REQUIRE(f.ok());
    const gguf_file& in = **f;
    gguf_writer w;
    const std::string prefix = "qwen2vl.";
    for (const std::string& key : in.keys()) {
        const std::string renamed =
            key.rfind(prefix, 0) == 0 ? arch + "." + key.substr(prefix.size()) : key;
        if (key == "general.architecture")
            w.set_string(key, arch);
        else if (key != k_sections_key)
            w.copy_key(in, key, renamed);
        else if (sections)
            w.set_i32_array(renamed, *sections);
    }
    for (const gguf_tensor_info& t : in.tensors())
        w.add_tensor(t.name, t.ggml_type, t.shape,
                     std::vector<uint8_t>(t.data, t.data + t.num_bytes));
    REQUIRE(w.write(dst).ok());
}

}  // namespace qwen2vl_gguf_test

using namespace qwen2vl_gguf_test;

TEST_CASE("loader: Qwen2.5-VL's text model written as a qwen2vl GGUF loads back the same") {
    test::scratch_dir dir;
    auto hf = load_hf_model(test::mm_model_dir("qwen25vl"));
    REQUIRE_MESSAGE(hf.ok(), (hf.ok() ? "" : hf.message()));
    REQUIRE(hf->config.mrope_section == std::vector<int32_t>{2, 3, 3});
    const std::string path = dir.file("qwen25vl.gguf");
    const status written = write_gguf_model(hf->config, hf->weights, path);
    REQUIRE_MESSAGE(written.ok(), written.message());

    auto gg = load_model(path);
    REQUIRE_MESSAGE(gg.ok(), (gg.ok() ? "" : gg.message()));
    // What llama.cpp's convert_hf_to_gguf.py writes for Qwen2VLModel.
    CHECK(gg->gguf->get_string("general.architecture") == "qwen2vl");
    CHECK(gg->gguf->get_int_array(k_sections_key) == std::vector<int32_t>{2, 3, 3, 0});
    CHECK(gg->gguf->array_info(k_sections_key)->first == gguf_type::int32);
    CHECK(gg->gguf->get_int("qwen2vl.embedding_length") == 32);
    CHECK_FALSE(gg->gguf->has("qwen2.embedding_length"));

    const model_config& a = hf->config;
    const model_config& b = gg->config;
    CHECK(b.arch == model_arch::qwen2);
    CHECK(b.mrope_section == a.mrope_section);
    CHECK(b.recipe.qkv_bias);
    CHECK(recipe_features(b.recipe) == recipe_features(a.recipe));
    CHECK(b.rope_neox);  // llama.cpp's converter permutes only llama's Q/K rows
    CHECK(b.rope_neox == a.rope_neox);
    CHECK(b.rope_theta == a.rope_theta);
    CHECK(b.rope_scaling.type == a.rope_scaling.type);
    CHECK(b.tie_word_embeddings == a.tie_word_embeddings);
    CHECK(b.vocab_size == a.vocab_size);
    CHECK(b.hidden_size == a.hidden_size);
    CHECK(b.intermediate_size == a.intermediate_size);
    CHECK(b.num_layers == a.num_layers);
    CHECK(b.num_heads == a.num_heads);
    CHECK(b.num_kv_heads == a.num_kv_heads);
    CHECK(b.head_dim == a.head_dim);
    CHECK(b.max_position == a.max_position);
    CHECK(b.rms_norm_eps == a.rms_norm_eps);
    CHECK(b.sliding_window == a.sliding_window);
    test::check_same_weights(a, hf->weights, b, gg->weights);

    // Text: three equal positions, ordinary RoPE.
    const std::vector<int32_t> ids = {3, 17, 42, 99, 5, 64, 7};
    const std::vector<float> hf_text = last_logits(a, hf->weights, ids);
    const double text = largest_difference(hf_text, last_logits(b, gg->weights, ids));
    CHECK(text < 1e-6);
    // Image-like (t, h, w) positions that differ per axis (two text tokens, a 2 x 2 grid,
    // text again, as get_rope_index lays them out): only equal sections give equal logits.
    // clang-format off
    const std::vector<int32_t> grid = {0, 0, 0,  1, 1, 1,
                                       2, 2, 2,  2, 2, 3,  2, 3, 2,  2, 3, 3,
                                       4, 4, 4};
    // clang-format on
    const std::vector<float> hf_image = last_logits(a, hf->weights, ids, grid);
    const double image = largest_difference(hf_image, last_logits(b, gg->weights, ids, grid));
    CHECK(image < 1e-6);
    model_config shuffled = b;
    shuffled.mrope_section = {3, 3, 2};
    CHECK(largest_difference(hf_image, last_logits(shuffled, gg->weights, ids, grid)) > 1e-4);
    MESSAGE("largest logit difference HF vs qwen2vl GGUF: text " << text << ", M-RoPE " << image);
}

TEST_CASE("loader: a qwen2vl GGUF with bad rope.dimension_sections is refused by name") {
    test::scratch_dir dir;
    auto hf = load_hf_model(test::mm_model_dir("qwen25vl"));
    REQUIRE(hf.ok());
    const std::string good = dir.file("good.gguf");
    REQUIRE(write_gguf_model(hf->config, hf->weights, good).ok());
    auto error_with = [&](const std::optional<std::vector<int32_t>>& sections) {
        const std::string bad = dir.file("bad.gguf");
        write_with_sections(good, bad, sections);
        auto m = load_model(bad);
        REQUIRE_FALSE(m.ok());
        CHECK(m.message().find(bad) != std::string::npos);
        return m.message();
    };
    SUBCASE("the rewritten copy itself loads") {
        const std::string copy = dir.file("copy.gguf");
        write_with_sections(good, copy, std::vector<int32_t>{2, 3, 3, 0});
        auto m = load_model(copy);
        REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
        CHECK(m->config.mrope_section == std::vector<int32_t>{2, 3, 3});
    }
    SUBCASE("a plain qwen2 file runs ordinary RoPE even with the key, as in llama.cpp") {
        const std::string plain = dir.file("plain.gguf");
        write_with_sections(good, plain, std::vector<int32_t>{2, 3, 3, 0}, "qwen2");
        auto m = load_model(plain);
        REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
        CHECK(m->gguf->has("qwen2.rope.dimension_sections"));
        CHECK(m->config.arch == model_arch::qwen2);
        CHECK(m->config.mrope_section.empty());
    }
    SUBCASE("missing") {
        CHECK(error_with(std::nullopt).find("missing qwen2vl.rope.dimension_sections") !=
              std::string::npos);
    }
    SUBCASE("three values") {
        CHECK(error_with(std::vector<int32_t>{2, 3, 3})
                  .find("qwen2vl.rope.dimension_sections [2, 3, 3] must be 4 non-negative "
                        "integers, the 4th 0") != std::string::npos);
    }
    SUBCASE("a fourth section") {
        CHECK(error_with(std::vector<int32_t>{2, 3, 2, 1})
                  .find("qwen2vl.rope.dimension_sections [2, 3, 2, 1] must be 4") !=
              std::string::npos);
    }
    SUBCASE("a negative section") {
        CHECK(error_with(std::vector<int32_t>{-1, 5, 4, 0})
                  .find("[-1, 5, 4, 0] must be 4 non-negative") != std::string::npos);
    }
    SUBCASE("sections that do not cover head_dim / 2") {
        CHECK(error_with(std::vector<int32_t>{2, 3, 4, 0})
                  .find("qwen2vl.rope.dimension_sections: mrope_section [2, 3, 4] covers 9 "
                        "rotary pairs but head_dim 16 has 8") != std::string::npos);
    }
}

TEST_CASE("GGUF writer: M-RoPE only as qwen2vl, and only with sections that fit the head") {
    test::scratch_dir dir;
    auto hf = load_hf_model(test::mm_model_dir("qwen25vl"));
    REQUIRE(hf.ok());
    model_config c = hf->config;
    c.mrope_section = {2, 3, 4};
    const status uneven = write_gguf_model(c, hf->weights, dir.file("uneven.gguf"));
    REQUIRE_FALSE(uneven.ok());
    CHECK(uneven.message().find("covers 9 rotary pairs but head_dim 16 has 8") !=
          std::string::npos);
    // A qwen3 (Q/K norm) config has no M-RoPE GGUF name in llama.cpp.
    test_model_spec spec;
    spec.arch = "qwen3";
    auto q3 = generate_test_model(spec);
    REQUIRE(q3.ok());
    q3->config.mrope_section = {2, 3, 3};
    const status refused = write_gguf_model(q3->config, q3->weights, dir.file("q3.gguf"));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.message().find("a qwen3 GGUF cannot hold M-RoPE") != std::string::npos);
}

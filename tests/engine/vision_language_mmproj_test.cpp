// vision_language_mmproj_test: the image side of a GGUF text model from llama.cpp's mmproj
// file, as `--mmproj` serves it. The processor an mmproj implies preprocesses a picture
// exactly as the HF directory's own processor does (same pixels, same placeholder count)
// where the file records the settings (LLaVA, Idefics3); the tower fingerprint in each
// image's mm_hash separates towers that share processor settings; and the loader's errors
// name the file and the problem (a vocabulary without the image token, a projector width
// that is not the text model's, a Qwen2.5-VL tower beside a text model without M-RoPE).
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "multimodal/image_processor.hpp"
#include "multimodal/vision_language.hpp"
#include "multimodal/vision_mmproj.hpp"
#include "support/mm_references.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace actorlm;
using namespace actorlm::multimodal;

namespace vision_language_mmproj_test {

std::string mmproj_of(const std::string& name) {
    return test::mm_model_dir(name) + "/mmproj-" + name + "-f16.gguf";
}

image_processor_config mmproj_processor(const std::string& name) {
    auto tower = load_vision_model_from_mmproj(mmproj_of(name));
    REQUIRE_MESSAGE(tower.ok(), (tower.ok() ? "" : tower.message()));
    auto p = read_mmproj_processor_config(mmproj_of(name), *tower);
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.message()));
    return *p;
}

image_processor_config hf_processor(const std::string& name) {
    auto p = read_image_processor_config(test::mm_model_dir(name));
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.message()));
    return *p;
}

// Both processors on pictures of several shapes: equal outputs, value for value.
void check_same_preprocessing(const image_processor_config& a, const image_processor_config& b) {
    for (auto [w, h, seed] : {std::tuple{45, 29, 1u}, std::tuple{70, 41, 2u},
                              std::tuple{32, 32, 3u}, std::tuple{13, 90, 4u}}) {
        CAPTURE(w);
        CAPTURE(h);
        const rgb_image picture = test::formula_image(w, h, seed);
        auto x = preprocess_image(a, picture);
        auto y = preprocess_image(b, picture);
        REQUIRE(x.ok());
        REQUIRE(y.ok());
        CHECK(x->shape == y->shape);
        CHECK(x->num_image_tokens == y->num_image_tokens);
        CHECK(x->num_rows == y->num_rows);
        CHECK(x->num_cols == y->num_cols);
        CHECK(x->pixel_values == y->pixel_values);
    }
}

}  // namespace vision_language_mmproj_test

using namespace vision_language_mmproj_test;

TEST_CASE("mmproj processor: LLaVA's mlp file preprocesses as the directory's LlavaImageProcessor") {
    const image_processor_config from_file = mmproj_processor("llava");
    REQUIRE(std::holds_alternative<clip_image_config>(from_file));
    const auto& c = std::get<clip_image_config>(from_file);
    CHECK(c.shortest_edge == 32);
    CHECK(c.crop_height == 32);
    CHECK(c.crop_width == 32);
    CHECK(c.patch_size == 8);
    check_same_preprocessing(from_file, hf_processor("llava"));
}

TEST_CASE("mmproj processor: Idefics3's file gives the tiles, first resize and token count") {
    const image_processor_config from_file = mmproj_processor("idefics3");
    REQUIRE(std::holds_alternative<idefics3_image_config>(from_file));
    const auto& c = std::get<idefics3_image_config>(from_file);
    CHECK(c.max_image_size == 32);
    CHECK(c.longest_edge == 64);  // clip.vision.preproc_image_size
    CHECK(c.image_seq_len == 4);  // (32 / 8)^2 patches, 2 x 2 shuffled into one token
    check_same_preprocessing(from_file, hf_processor("idefics3"));
}

TEST_CASE("mmproj processor: Qwen2.5-VL's file takes the tower's patch and merge sizes") {
    const image_processor_config from_file = mmproj_processor("qwen25vl");
    REQUIRE(std::holds_alternative<qwen2_vl_image_config>(from_file));
    const auto& c = std::get<qwen2_vl_image_config>(from_file);
    const image_processor_config hf_config = hf_processor("qwen25vl");
    const auto& hf = std::get<qwen2_vl_image_config>(hf_config);
    CHECK(c.patch_size == hf.patch_size);
    CHECK(c.merge_size == hf.merge_size);
    CHECK(c.temporal_patch_size == hf.temporal_patch_size);
    // Not recorded in the file: the released checkpoints' limits.
    CHECK(c.min_pixels == 3136);
    CHECK(c.max_pixels == 12845056);
}

TEST_CASE("vision fingerprint: towers with equal processors but other weights differ") {
    auto llava = load_vision_language(test::mm_model_dir("llava"));
    auto stories = load_vision_language(test::mm_model_dir("llava_stories"));
    REQUIRE(llava.ok());
    REQUIRE(stories.ok());
    // Same preprocessor_config.json and processor_config.json, other tower weights: an
    // encoder store shared by the two must not hand one's features to the other.
    CHECK((*llava)->processor_key != (*stories)->processor_key);
    auto again = load_vision_language(test::mm_model_dir("llava"));
    REQUIRE(again.ok());
    CHECK((*again)->processor_key == (*llava)->processor_key);
}

TEST_CASE("mmproj loading: errors name the file and the problem") {
    auto tok = load_tokenizer_for_model(test::mm_model_dir("llava_stories"));
    REQUIRE(tok.ok());
    model_config text;  // llava_stories' text model: 32 wide, ordinary RoPE
    text.hidden_size = 32;
    SUBCASE("a Qwen2.5-VL tower beside a text model without M-RoPE") {
        auto v = load_vision_language_from_mmproj(mmproj_of("qwen25vl"), **tok, text);
        REQUIRE_FALSE(v.ok());
        CHECK(v.message().find("needs a Qwen2.5-VL text model") != std::string::npos);
    }
    SUBCASE("a vocabulary without the family's image token") {
        model_config qwen_text = text;
        qwen_text.mrope_section = {2, 3, 3};
        auto v = load_vision_language_from_mmproj(mmproj_of("qwen25vl"), **tok, qwen_text);
        REQUIRE_FALSE(v.ok());
        CHECK(v.message().find("mmproj-qwen25vl-f16.gguf") != std::string::npos);
        CHECK(v.message().find("no '<|image_pad|>' token") != std::string::npos);
    }
    SUBCASE("a projector whose rows are not the text model's width") {
        model_config wide = text;
        wide.hidden_size = 64;
        auto v = load_vision_language_from_mmproj(mmproj_of("llava"), **tok, wide);
        REQUIRE_FALSE(v.ok());
        CHECK(v.message().find("rows of 32 values") != std::string::npos);
        CHECK(v.message().find("hidden size is 64") != std::string::npos);
    }
    SUBCASE("a file that is not an mmproj") {
        auto v = load_vision_language_from_mmproj(
            test::mm_model_dir("llava_stories") + "/config.json", **tok, text);
        REQUIRE_FALSE(v.ok());
        CHECK(v.message().find("config.json") != std::string::npos);
    }
    SUBCASE("the image token found: LLaVA's <image> is id 512") {
        auto v = load_vision_language_from_mmproj(mmproj_of("llava"), **tok, text);
        REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.message()));
        CHECK((*v)->image_token_id == 512);
        CHECK(std::holds_alternative<clip_image_config>((*v)->processor));
    }
}

// image_processor_test: the HF image processor families (CLIP / LLaVA-1.5, Idefics3 / SmolVLM,
// Qwen2.5-VL) against transformers' own outputs (tests/data/mm, written by
// tools/make-mm-references.py in the peer chroot): PIL's resize alone, pixel values, tile and
// grid counts, expanded input_ids and placeholder ranges; plus settings errors and degenerate
// pictures. The pictures come from a formula shared with the script (make_test_image).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include <simdjson.h>

#include "multimodal/image_processor.hpp"
#include "multimodal/image_processor_config.hpp"
#include "multimodal/image_processor_prompt.hpp"
#include "multimodal/pil_resample.hpp"
#include "support/shared_data.hpp"
#include "support/mm_references.hpp"
#include "support/temp_dir.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace actorlm;
using namespace actorlm::multimodal;

namespace {


uint32_t image_seed(int width, int height) { return static_cast<uint32_t>(width * 7 + height); }

// bits_hash in the script: sum (w_i + 1) * P^(i+1) mod 2^64.
template <class T>
uint64_t bits_hash(const std::vector<T>& values) {
    constexpr uint64_t p = 1099511628211ull;
    uint64_t pw = 1, h = 0;
    for (const T& v : values) {
        uint32_t w = 0;
        if constexpr (std::is_same_v<T, float>) {
            std::memcpy(&w, &v, 4);
        } else {
            w = v;
        }
        pw *= p;
        h += (static_cast<uint64_t>(w) + 1) * pw;
    }
    return h;
}

std::string data_dir() { return std::string(ACTORLM_SOURCE_DIR) + "/tests/data/mm"; }

const std::vector<std::string> k_cases = {
    "llava15",       "llava15_pad",      "clip_small", "clip_crop_pad", "idefics3",
    "smolvlm_small", "idefics3_nosplit", "qwen25vl",   "qwen25vl_small"};

struct json_doc {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
};

void load_json(json_doc& doc, const std::string& path) {
    const std::string text = test::read_file(path);
    REQUIRE_MESSAGE(!text.empty(), "missing " << path);
    REQUIRE(doc.parser.parse(text).get(doc.root) == simdjson::SUCCESS);
}

int64_t as_int(simdjson::dom::element e) { return int64_t(e); }

std::string as_string(simdjson::dom::element e) { return std::string(std::string_view(e)); }

// The shared tokenizer with the script's added tokens, written to a temp dir.
std::unique_ptr<tokenizer> reference_tokenizer(simdjson::dom::element prompt,
                                               const std::string& tag) {
    const std::string name = as_string(prompt["tokenizer"]);
    const std::string src = test::shared_path("tokenizers/" + name);
    std::string json = test::read_file(src + "/tokenizer.json");
    REQUIRE(!json.empty());
    std::string entries;
    for (simdjson::dom::element t : simdjson::dom::array(prompt["added_tokens"])) {
        simdjson::dom::array pair = t;
        const std::string content = as_string(pair.at(0));
        entries += "{\"id\":" + std::to_string(as_int(pair.at(1))) + ",\"content\":\"" + content +
                   "\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
                   "\"normalized\":false,\"special\":true},";
    }
    if (!entries.empty()) {
        const size_t key = json.find("\"added_tokens\"");
        REQUIRE(key != std::string::npos);
        const size_t open = json.find('[', key);
        json.insert(open + 1, entries);
    }
    const auto dir = test::fresh_temp_dir("mm-tok-" + tag);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "tokenizer.json", std::ios::binary) << json;
    std::filesystem::copy_file(src + "/tokenizer_config.json", dir / "tokenizer_config.json");
    auto tok = tokenizer::from_hf((dir / "tokenizer.json").string());
    std::filesystem::remove_all(dir);
    REQUIRE_MESSAGE(tok.ok(), (tok.ok() ? "" : tok.message()));
    return std::move(tok.value());
}

}  // namespace

TEST_CASE("pil_resize: Pillow's Image.resize bit for bit, every filter") {
    json_doc doc;
    load_json(doc, data_dir() + "/pil_resize.json");
    int checked = 0;
    for (simdjson::dom::element c : simdjson::dom::array(doc.root["cases"])) {
        const int w = int(as_int(c["width"])), h = int(as_int(c["height"]));
        const int ow = int(as_int(c["out_width"])), oh = int(as_int(c["out_height"]));
        const std::string filter = as_string(c["filter"]);
        resample_filter f = resample_filter::bicubic;
        for (int code = 1; code <= 5; ++code)
            if (filter == resample_filter_name(*resample_filter_from_pil(code)))
                f = *resample_filter_from_pil(code);
        CAPTURE(w);
        CAPTURE(h);
        CAPTURE(ow);
        CAPTURE(oh);
        CAPTURE(filter);
        const rgb_image out = pil_resize(test::formula_image(w, h, image_seed(w, h)), ow, oh, f);
        REQUIRE(out.pixels.size() == static_cast<size_t>(ow) * static_cast<size_t>(oh) * 3);
        int max_diff = 0;
        for (simdjson::dom::element s : simdjson::dom::array(c["samples"])) {
            simdjson::dom::array pair = s;
            const int want = int(as_int(pair.at(1)));
            max_diff = std::max(max_diff,
                                std::abs(out.pixels[size_t(as_int(pair.at(0)))] - want));
        }
        CHECK(max_diff == 0);
        const std::vector<uint32_t> words(out.pixels.begin(), out.pixels.end());
        CHECK(std::to_string(bits_hash(words)) == std::string_view(c["bits_hash"]));
        ++checked;
    }
    CHECK(checked == 55);
}

TEST_CASE("pil_resize_window equals cropping the full resize") {
    const rgb_image src = test::formula_image(53, 31, 5);
    for (resample_filter f : {resample_filter::bicubic, resample_filter::lanczos,
                              resample_filter::bilinear}) {
        const rgb_image full = pil_resize(src, 120, 17, f);
        const pixel_window win{13, 4, 61, 9};
        const rgb_image part = pil_resize_window(src, 120, 17, f, win);
        REQUIRE(part.width == win.width);
        REQUIRE(part.height == win.height);
        bool same = true;
        for (int y = 0; y < win.height; ++y)
            same = same && std::memcmp(part.at(0, y), full.at(win.x, win.y + y),
                                       static_cast<size_t>(win.width) * 3) == 0;
        CHECK(same);
    }
}

TEST_CASE("image processors: pixel values, tiles and grids equal transformers'") {
    for (const std::string& name : k_cases) {
        CAPTURE(name);
        const std::string dir = data_dir() + "/" + name;
        auto config = read_image_processor_config(dir);
        REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.message()));
        json_doc doc;
        load_json(doc, dir + "/reference.json");
        const std::string family = as_string(doc.root["family"]);
        for (simdjson::dom::element e : simdjson::dom::array(doc.root["images"])) {
            const int w = int(as_int(e["width"])), h = int(as_int(e["height"]));
            CAPTURE(w);
            CAPTURE(h);
            auto out = preprocess_image(*config, test::formula_image(w, h, image_seed(w, h)));
            std::string_view hf_error;
            if (e["error"].get(hf_error) == simdjson::SUCCESS) {
                // HF raises: so do we, with a message naming the same problem.
                REQUIRE_FALSE(out.ok());
                CHECK(out.kind() == error_kind::invalid_argument);
                CHECK(out.message().find("aspect ratio") != std::string::npos);
                continue;
            }
            REQUIRE_MESSAGE(out.ok(), (out.ok() ? "" : out.message()));
            std::vector<int64_t> shape;
            for (simdjson::dom::element d : simdjson::dom::array(e["shape"]))
                shape.push_back(as_int(d));
            REQUIRE(out->shape == shape);
            float max_diff = 0;
            for (simdjson::dom::element s : simdjson::dom::array(e["samples"])) {
                simdjson::dom::array pair = s;
                const float want = static_cast<float>(double(pair.at(1)));
                max_diff = std::max(
                    max_diff, std::fabs(out->pixel_values[size_t(as_int(pair.at(0)))] - want));
            }
            // Bit-exact: the resize is PIL's integer arithmetic and the float steps run in
            // numpy's order, so every value is the same float32.
            CHECK(max_diff == 0.0f);
            CHECK(std::to_string(bits_hash(out->pixel_values)) ==
                  std::string_view(e["bits_hash"]));
            double sum = 0;
            for (float v : out->pixel_values) sum += v;
            CHECK(sum == doctest::Approx(double(e["sum"])).epsilon(1e-9));
            if (family == "idefics3") {
                CHECK(out->num_rows == as_int(e["rows"]));
                CHECK(out->num_cols == as_int(e["cols"]));
            } else if (family == "qwen2_vl") {
                simdjson::dom::array g = e["grid_thw"];
                CHECK(out->grid_thw[0] == as_int(g.at(0)));
                CHECK(out->grid_thw[1] == as_int(g.at(1)));
                CHECK(out->grid_thw[2] == as_int(g.at(2)));
            }
        }
    }
}

TEST_CASE("image prompts: expanded input_ids equal the processors', placeholder ranges") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    for (const std::string& name : k_cases) {
        CAPTURE(name);
        const std::string dir = data_dir() + "/" + name;
        auto config = read_image_processor_config(dir);
        REQUIRE(config.ok());
        json_doc doc;
        load_json(doc, dir + "/reference.json");
        simdjson::dom::element prompt = doc.root["prompt"];
        const auto tok = reference_tokenizer(prompt, name);

        std::vector<processed_image> images;
        for (simdjson::dom::element wh : simdjson::dom::array(prompt["images"])) {
            simdjson::dom::array a = wh;
            const int w = int(as_int(a.at(0))), h = int(as_int(a.at(1)));
            auto p = preprocess_image(*config, test::formula_image(w, h, image_seed(w, h)));
            REQUIRE(p.ok());
            images.push_back(std::move(p.value()));
        }
        auto text = expand_image_markers(*config, std::string_view(prompt["text"]), images);
        REQUIRE_MESSAGE(text.ok(), (text.ok() ? "" : text.message()));
        const std::vector<int32_t> ids = tok->encode(*text, true, true);
        std::vector<int32_t> want;
        for (simdjson::dom::element v : simdjson::dom::array(prompt["input_ids"]))
            want.push_back(static_cast<int32_t>(as_int(v)));
        CHECK(ids == want);
        if (ids != want) {
            size_t k = 0;
            while (k < ids.size() && k < want.size() && ids[k] == want[k]) ++k;
            MESSAGE("first difference at " << k << " of " << ids.size() << " / " << want.size()
                                           << ": ours " << (k < ids.size() ? ids[k] : -1)
                                           << ", HF " << (k < want.size() ? want[k] : -1));
        }

        auto ranges = find_placeholder_ranges(
            *config, want, images, [&](std::string_view t) { return tok->token_id(t); });
        REQUIRE_MESSAGE(ranges.ok(), (ranges.ok() ? "" : ranges.message()));
        REQUIRE(ranges->size() == images.size());
        const int32_t image_id = tok->token_id(image_marker(*config));
        int64_t covered = 0;
        for (size_t i = 0; i < images.size(); ++i) {
            const placeholder_range& r = (*ranges)[i];
            CHECK(r.num_embeds() == images[i].num_image_tokens);
            for (int64_t k = 0; k < r.length; ++k) {
                const bool embed = r.is_embed.empty() || r.is_embed[size_t(k)];
                CHECK((want[size_t(r.offset + k)] == image_id) == embed);
            }
            if (i > 0) CHECK(r.offset >= (*ranges)[i - 1].offset + (*ranges)[i - 1].length);
            covered += r.num_embeds();
        }
        // Every image token of the prompt lies in some range.
        CHECK(covered == std::count(want.begin(), want.end(), image_id));
    }
}

TEST_CASE("image prompts: the Idefics3 layout and LLaVA's count") {
    idefics3_image_config idefics;
    idefics.image_seq_len = 2;
    processed_image split;
    split.num_rows = 1;
    split.num_cols = 2;
    split.num_image_tokens = 6;
    CHECK(image_prompt_text(idefics, split) ==
          "<fake_token_around_image><row_1_col_1><image><image>"
          "<fake_token_around_image><row_1_col_2><image><image>\n"
          "\n<fake_token_around_image><global-img><image><image><fake_token_around_image>");
    processed_image single;
    single.num_image_tokens = 2;
    CHECK(image_prompt_text(idefics, single) ==
          "<fake_token_around_image><global-img><image><image><fake_token_around_image>");

    // LlavaProcessor: 336 / 14 = 24, 24 * 24 + 1 (CLS) - 1 ("default" drops it) = 576.
    clip_image_config llava;
    llava.shortest_edge = llava.crop_height = llava.crop_width = 336;
    llava.patch_size = 14;
    llava.num_additional_image_tokens = 1;
    llava.vision_feature_select_strategy = "default";
    auto p = preprocess_clip(llava, test::formula_image(37, 23, 1));
    REQUIRE(p.ok());
    CHECK(p->num_image_tokens == 576);
    llava.vision_feature_select_strategy = "full";
    CHECK(preprocess_clip(llava, test::formula_image(37, 23, 1))->num_image_tokens == 577);
}

TEST_CASE("image prompts: marker and token mismatches are errors") {
    const image_processor_config config = qwen2_vl_image_config{};
    std::vector<processed_image> one(1);
    one[0].num_image_tokens = 3;
    auto two_markers = expand_image_markers(config, "a<|image_pad|>b<|image_pad|>", one);
    REQUIRE_FALSE(two_markers.ok());
    CHECK(two_markers.message().find("2 '<|image_pad|>' marker(s) but 1 image") !=
          std::string::npos);
    auto no_marker = expand_image_markers(config, "text only", one);
    REQUIRE_FALSE(no_marker.ok());
    CHECK(no_marker.message().find("0 '<|image_pad|>' marker(s) but 1 image") !=
          std::string::npos);
    auto ok = expand_image_markers(config, "x<|image_pad|>y", one);
    REQUIRE(ok.ok());
    CHECK(*ok == "x<|image_pad|><|image_pad|><|image_pad|>y");

    const auto lookup = [](std::string_view t) { return t == "<|image_pad|>" ? 7 : -1; };
    const std::vector<int32_t> ids = {1, 7, 7, 7, 2};
    auto ranges = find_placeholder_ranges(config, ids, one, lookup);
    REQUIRE(ranges.ok());
    CHECK((*ranges)[0].offset == 1);
    CHECK((*ranges)[0].length == 3);
    const std::vector<int32_t> short_run = {1, 7, 7, 2};
    auto bad = find_placeholder_ranges(config, short_run, one, lookup);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message().find("holds 2 image tokens for it, the image needs 3") !=
          std::string::npos);
    const std::vector<int32_t> extra = {7, 7, 7, 2, 7};
    CHECK_FALSE(find_placeholder_ranges(config, extra, one, lookup).ok());
    auto no_token = find_placeholder_ranges(config, ids, one, [](std::string_view) { return -1; });
    REQUIRE_FALSE(no_token.ok());
    CHECK(no_token.message().find("no '<|image_pad|>' token") != std::string::npos);
}

TEST_CASE("image processor settings: defaults, old forms and errors naming the key") {
    auto qwen = parse_image_processor_config(
        R"({"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 100,
            "max_pixels": 9000})",
        "");
    REQUIRE(qwen.ok());
    const auto& q = std::get<qwen2_vl_image_config>(*qwen);
    CHECK(q.min_pixels == 100);
    CHECK(q.max_pixels == 9000);
    CHECK(q.patch_size == 14);
    CHECK(q.norm.mean[0] == doctest::Approx(0.48145466));

    auto clip = parse_image_processor_config(
        R"({"image_processor_type": "CLIPImageProcessor", "size": 224, "crop_size": 200})",
        R"({"patch_size": 16})");
    REQUIRE(clip.ok());
    const auto& c = std::get<clip_image_config>(*clip);
    CHECK(c.shortest_edge == 224);
    CHECK(c.crop_height == 200);
    CHECK(c.crop_width == 200);
    CHECK(c.vision_feature_select_strategy.empty());

    auto idefics = parse_image_processor_config(
        R"({"image_processor_type": "Idefics3ImageProcessor"})", R"({"image_seq_len": 64})");
    REQUIRE(idefics.ok());
    CHECK(std::get<idefics3_image_config>(*idefics).image_seq_len == 64);
    CHECK(std::get<idefics3_image_config>(*idefics).resample == resample_filter::lanczos);

    const auto fails = [](const char* pre, const char* proc, const char* needle) {
        auto r = parse_image_processor_config(pre, proc);
        REQUIRE_FALSE(r.ok());
        CHECK(r.kind() == error_kind::invalid_argument);
        CHECK_MESSAGE(r.message().find(needle) != std::string::npos, r.message());
    };
    fails("{}", "", "missing 'image_processor_type'");
    fails("not json", "", "not a JSON object");
    fails(R"({"image_processor_type": "SiglipImageProcessor"})", "",
          "'SiglipImageProcessor' is not supported");
    fails(R"({"image_processor_type": "CLIPImageProcessor"})", "", "missing 'patch_size'");
    fails(R"({"image_processor_type": "CLIPImageProcessor", "size": {"longest": 3}})",
          R"({"patch_size": 14})", "'size' must hold 'shortest_edge'");
    fails(R"({"image_processor_type": "CLIPImageProcessor", "resample": 0})",
          R"({"patch_size": 14})", "resample 0 (nearest) is not supported");
    fails(R"({"image_processor_type": "CLIPImageProcessor", "resample": 9})",
          R"({"patch_size": 14})", "resample 9 is not a PIL filter");
    fails(R"({"image_processor_type": "CLIPImageProcessor", "image_mean": [0.5, 0.5]})",
          R"({"patch_size": 14})", "'image_mean' must be a list of 3 numbers");
    fails(R"({"image_processor_type": "CLIPImageProcessor", "image_std": [0.5, 0, 0.5]})",
          R"({"patch_size": 14})", "'image_std' must not hold 0");
    fails(R"({"image_processor_type": "CLIPImageProcessor"})",
          R"({"patch_size": 14, "vision_feature_select_strategy": "cls"})",
          "'vision_feature_select_strategy' must be");
    fails(R"({"image_processor_type": "CLIPImageProcessor", "crop_size": {"height": 3}})",
          R"({"patch_size": 14})", "'crop_size' must hold 'height' and 'width'");
    fails(R"({"image_processor_type": "Idefics3ImageProcessor", "max_image_size": {"h": 3}})",
          "", "'max_image_size' must hold 'longest_edge'");
    fails(R"({"image_processor_type": "Idefics3ImageProcessor"})", R"({"image_seq_len": -1})",
          "processor_config.json: 'image_seq_len' must be a positive integer");
    fails(R"({"image_processor_type": "Qwen2VLImageProcessor", "size": {"shortest_edge": 9}})",
          "", "'size' must hold 'shortest_edge' and 'longest_edge'");
    fails(R"({"image_processor_type": "Qwen2VLImageProcessor", "merge_size": "2"})", "",
          "'merge_size' must be a positive integer");
    fails(R"({"image_processor_type": "Qwen2VLImageProcessor", "min_pixels": 900,
              "max_pixels": 800})",
          "", "'min_pixels' must be <= max_pixels");
    fails(R"({"image_processor_type": "Qwen2VLImageProcessor", "do_resize": 1})", "",
          "'do_resize' must be true or false");

    // Settings built by hand skip the parser's checks; the processors check again rather
    // than divide by zero.
    CHECK_FALSE(preprocess_image(clip_image_config{}, test::formula_image(4, 4, 1)).ok());  // patch 0
    qwen2_vl_image_config zero_merge;
    zero_merge.merge_size = 0;
    CHECK_FALSE(preprocess_image(zero_merge, test::formula_image(4, 4, 1)).ok());
    idefics3_image_config zero_tile;
    zero_tile.max_image_size = 0;
    CHECK_FALSE(preprocess_image(zero_tile, test::formula_image(4, 4, 1)).ok());

    auto missing = read_image_processor_config("/nonexistent-model-dir");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.message().find("no preprocessor_config.json") != std::string::npos);
}

TEST_CASE("image processors: degenerate pictures") {
    // A malformed picture (size and bytes disagree) is refused, not read out of bounds.
    rgb_image broken;
    broken.width = 4;
    broken.height = 4;
    broken.pixels.resize(5);
    auto r = preprocess_image(qwen2_vl_image_config{}, broken);
    REQUIRE_FALSE(r.ok());
    CHECK(r.message().find("not width * height * 3") != std::string::npos);

    // Idefics3, by hand: 1x2000 with longest edge 4 -> height 4, width int(4 * 1/2000) = 0,
    // raised to 1; the tile-multiple resize (tile 2) -> 2 x 4, so 2 rows x 1 column + global.
    idefics3_image_config idefics;
    idefics.longest_edge = 4;
    idefics.max_image_size = 2;
    idefics.image_seq_len = 3;
    auto thin = preprocess_idefics3(idefics, test::formula_image(1, 2000, 3));
    REQUIRE(thin.ok());
    CHECK(thin->num_rows == 2);
    CHECK(thin->num_cols == 1);
    CHECK(thin->shape == std::vector<int64_t>{3, 3, 2, 2});
    CHECK(thin->num_image_tokens == 9);

    // Qwen2-VL: HF's aspect-ratio limit, and the minimum size of a 1x1 picture.
    auto wide = qwen2_vl_smart_resize(1, 201, 28, 3136, 12845056);
    REQUIRE_FALSE(wide.ok());
    CHECK(wide.message().find("absolute aspect ratio must be smaller than 200") !=
          std::string::npos);
    auto dot = qwen2_vl_smart_resize(1, 1, 28, 3136, 12845056);
    REQUIRE(dot.ok());
    CHECK((*dot)[0] == 56);
    CHECK((*dot)[1] == 56);
    // Python's round() is half to even: 42 / 28 = 1.5 -> 2, 70 / 28 = 2.5 -> 2.
    auto ties = qwen2_vl_smart_resize(42, 70, 28, 28 * 28, 28 * 28 * 1000);
    REQUIRE(ties.ok());
    CHECK((*ties)[0] == 56);
    CHECK((*ties)[1] == 56);

    // Qwen2-VL without resizing needs patch-aligned pictures.
    qwen2_vl_image_config no_resize;
    no_resize.do_resize = false;
    auto unaligned = preprocess_qwen2_vl(no_resize, test::formula_image(30, 28, 1));
    REQUIRE_FALSE(unaligned.ok());
    CHECK(unaligned.message().find("not a multiple of patch_size * merge_size") !=
          std::string::npos);
    auto aligned = preprocess_qwen2_vl(no_resize, test::formula_image(56, 28, 1));
    REQUIRE(aligned.ok());
    CHECK(aligned->grid_thw == std::array<int64_t, 3>{1, 2, 4});
    CHECK(aligned->num_image_tokens == 2);
}

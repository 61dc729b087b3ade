// vision_tower_test: the CPU vision towers against transformers' get_image_features on tiny
// random checkpoints (tests/data/mm/models, written by tools/make-vision-references.py in the
// peer chroot): LLaVA (CLIP ViT, layer -2, CLS dropped, f32), LLaVA with a list of feature
// layers and the CLS kept, Idefics3 (SigLIP + pixel shuffle, bf16; tiles at and above the
// position table's size), Qwen2.5-VL (window attention, f16); processor output end to end;
// batching; config and weight errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <simdjson.h>

#include "cpu/half.hpp"
#include "cpu/thread_pool.hpp"
#include "model/safetensors_file.hpp"
#include "model/safetensors_writer.hpp"
#include "multimodal/image_processor.hpp"
#include "multimodal/image_processor_config.hpp"
#include "multimodal/vision_tower.hpp"
#include "support/mm_references.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::multimodal;

namespace vision_tower_test {

// Agreement with transformers in float32: the encoders are 2-3 layers deep with O(1)
// activations; measured max |diff| is ~1e-6 (docs/multimodal.md "Vision towers").
constexpr double k_f32_tolerance = 1e-4;



struct reference {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    explicit reference(const std::string& dir) {
        REQUIRE(parser.load(dir + "/reference.json").get(root) == simdjson::SUCCESS);
    }
    std::vector<int64_t> shape(const char* key) const { return ints(root[key]); }
    static std::vector<int64_t> ints(simdjson::simdjson_result<simdjson::dom::element> e) {
        return test::json_ints(e);
    }
};

std::shared_ptr<const vision_model> load(const std::string& name) {
    auto m = load_vision_model(test::mm_model_dir(name));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
    return std::make_shared<const vision_model>(std::move(*m));
}



// The batch of seeded pixel values against features.bin.
void check_batch(const std::string& name, const char* pixels_file, const char* features_file,
                 const char* pixel_key, const char* feature_key, double tolerance) {
    CAPTURE(name);
    const std::string dir = test::mm_model_dir(name);
    const reference ref(dir);
    const std::vector<int64_t> ps = ref.shape(pixel_key), fs = ref.shape(feature_key);
    const std::vector<float> pixels = test::read_floats(dir + "/" + pixels_file);
    const std::vector<float> want = test::read_floats(dir + "/" + features_file);
    vision_tower tower(load(name));
    cpu::thread_pool pool(2);
    auto tokens = tower.tokens_per_image(ps[2], ps[3]);
    REQUIRE(tokens.ok());
    CHECK(*tokens == fs[1]);
    auto got = tower.encode(pixels.data(), ps[0], ps[2], ps[3], pool);
    REQUIRE_MESSAGE(got.ok(), (got.ok() ? "" : got.message()));
    CHECK(got->num_images == fs[0]);
    CHECK(got->tokens_per_image == fs[1]);
    CHECK(got->dim == fs[2]);
    const double diff = test::max_abs_diff(got->data, want);
    MESSAGE(name << " " << std::string(features_file) << ": max |diff| vs transformers = " << diff);
    CHECK(diff <= tolerance);
}

// The processed_image case: a formula picture through our processor and the tower against
// the HF processor + model.
void check_processed(const std::string& name) {
    CAPTURE(name);
    const std::string dir = test::mm_model_dir(name);
    const reference ref(dir);
    simdjson::dom::object pi;
    REQUIRE(ref.root["processed_image"].get(pi) == simdjson::SUCCESS);
    int64_t w = 0, h = 0, seed = 0;
    REQUIRE(pi["width"].get(w) == simdjson::SUCCESS);
    REQUIRE(pi["height"].get(h) == simdjson::SUCCESS);
    REQUIRE(pi["seed"].get(seed) == simdjson::SUCCESS);
    const std::vector<int64_t> fs = reference::ints(pi["feature_shape"]);
    std::vector<float> want;
    simdjson::dom::array values;
    REQUIRE(pi["features"].get(values) == simdjson::SUCCESS);
    for (auto v : values) {
        double x = 0;
        REQUIRE(v.get(x) == simdjson::SUCCESS);
        want.push_back(static_cast<float>(x));
    }

    auto config = read_image_processor_config(dir);
    REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.message()));
    auto processed = preprocess_image(*config, test::formula_image(int(w), int(h), uint32_t(seed)));
    REQUIRE(processed.ok());
    vision_tower tower(load(name));
    cpu::thread_pool pool(2);
    auto got = tower.encode(*processed, pool);
    REQUIRE_MESSAGE(got.ok(), (got.ok() ? "" : got.message()));
    // LLaVA's reference is one image's [tokens, dim]; Idefics3's [frames, tokens, dim].
    const int64_t rows = fs.size() == 2 ? fs[0] : fs[0] * fs[1];
    CHECK(got->num_images * got->tokens_per_image == rows);
    // The processor's own count of placeholder tokens is what the tower produces.
    CHECK(processed->num_image_tokens == got->num_images * got->tokens_per_image);
    const double diff = test::max_abs_diff(got->data, want);
    MESSAGE(name << " processed image: max |diff| vs transformers = " << diff);
    CHECK(diff <= k_f32_tolerance);
}

// A copy of a model directory whose config.json is `config` (the weights shared by link).
std::filesystem::path copy_with_config(const std::string& name, const std::string& tag,
                                       const std::string& config) {
    namespace fs = std::filesystem;
    const fs::path dir = actorlm::test::fresh_temp_dir("vision-" + tag);
    fs::create_directories(dir);
    fs::copy_file(test::mm_model_dir(name) + "/model.safetensors", dir / "model.safetensors");
    std::ofstream(dir / "config.json") << config;
    return dir;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// `s` with the first `from` after its "vision_config" key replaced by `to`.
std::string replace(std::string s, const std::string& from, const std::string& to) {
    const size_t at = s.find(from, s.find("\"vision_config\""));
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

// Rewrites `src`'s safetensors into `dst` without tensor `drop` and with F32 matrices stored
// as `dtype` ("F32" or "F16").
void rewrite_weights(const std::string& src, const std::filesystem::path& dst,
                     const std::string& drop, const std::string& dtype) {
    auto file = safetensors_file::open(src + "/model.safetensors");
    REQUIRE(file.ok());
    safetensors_writer out;
    for (const auto& t : (*file)->tensors()) {
        if (t.name == drop) continue;
        if (dtype == "F16" && t.dtype == "F32" && t.shape.size() >= 2) {
            std::vector<uint8_t> bytes(t.num_bytes / 2);
            for (size_t i = 0; i < t.num_bytes / 4; ++i) {
                float f;
                std::memcpy(&f, t.data + 4 * i, 4);
                const uint16_t hbits = cpu::fp32_to_fp16(f);
                std::memcpy(&bytes[2 * i], &hbits, 2);
            }
            out.add_tensor(t.name, "F16", t.shape, std::move(bytes));
        } else {
            out.add_tensor(t.name, t.dtype, t.shape,
                           std::vector<uint8_t>(t.data, t.data + t.num_bytes));
        }
    }
    REQUIRE(out.write((dst / "model.safetensors").string()).ok());
}

}  // namespace vision_tower_test

using namespace vision_tower_test;

TEST_CASE("vision tower: config.json of LLaVA and Idefics3 read with the class defaults") {
    auto llava = read_vision_tower_config(test::mm_model_dir("llava"));
    REQUIRE(llava.ok());
    CHECK(llava->family == vision_family::clip_llava);
    CHECK(llava->encoder.hidden_size == 32);
    CHECK(llava->encoder.num_layers == 3);
    CHECK(llava->encoder.hidden_act == vision_activation::quick_gelu);
    CHECK(llava->feature_layers == std::vector<int64_t>{2});  // -2 of 4 hidden states
    CHECK(llava->drop_class_token);
    CHECK(llava->projector_act == vision_activation::gelu_erf);

    auto multi = read_vision_tower_config(test::mm_model_dir("llava_multilayer"));
    REQUIRE(multi.ok());
    CHECK(multi->feature_layers == std::vector<int64_t>{0, 2});  // [-3, -1] of 3 states
    CHECK_FALSE(multi->drop_class_token);
    CHECK(multi->projector_act == vision_activation::gelu_tanh);
    CHECK(multi->encoder.hidden_act == vision_activation::gelu_erf);

    auto idefics = read_vision_tower_config(test::mm_model_dir("idefics3"));
    REQUIRE(idefics.ok());
    CHECK(idefics->family == vision_family::siglip_idefics3);
    CHECK(idefics->scale_factor == 2);
    CHECK(idefics->encoder.hidden_act == vision_activation::gelu_tanh);
    CHECK(idefics->encoder.layer_norm_eps == 1e-6);

    // No vision_config: LlavaConfig's default tower (CLIP ViT-L/14 at 336).
    auto defaults = parse_vision_tower_config(R"({"model_type": "llava"})");
    REQUIRE(defaults.ok());
    CHECK(defaults->encoder.hidden_size == 1024);
    CHECK(defaults->encoder.num_layers == 24);
    CHECK(defaults->encoder.image_size == 336);
    CHECK(defaults->encoder.patch_size == 14);
    CHECK(defaults->feature_layers == std::vector<int64_t>{23});
    auto smol = parse_vision_tower_config(
        R"({"model_type": "smolvlm", "vision_config": {"hidden_size": 768, "image_size": 512,
            "patch_size": 16, "num_attention_heads": 12, "model_type": "smolvlm_vision"},
            "scale_factor": 4})");
    REQUIRE(smol.ok());
    CHECK(smol->encoder.intermediate_size == 3072);
    CHECK(smol->scale_factor == 4);
}

TEST_CASE("vision tower: bad config.json values are errors naming the key") {
    struct bad_case {
        const char* json;
        const char* needle;
    };
    const bad_case cases[] = {
        {R"({"model_type": "llama"})", "model_type 'llama'"},
        {R"({"model_type": "llava", "vision_config": {"hidden_act": "relu"}})",
         "vision_config.hidden_act"},
        {R"({"model_type": "llava", "projector_hidden_act": "swish"})", "projector_hidden_act"},
        {R"({"model_type": "llava", "vision_feature_layer": 30})", "vision_feature_layer 30"},
        {R"({"model_type": "llava", "vision_feature_layer": [-1, "x"]})", "vision_feature_layer"},
        {R"({"model_type": "llava", "vision_feature_select_strategy": "cls"})",
         "vision_feature_select_strategy"},
        {R"({"model_type": "llava", "vision_config": {"hidden_size": 30}})",
         "not a multiple of num_attention_heads"},
        {R"({"model_type": "llava", "vision_config": {"patch_size": 0}})",
         "vision_config.patch_size"},
        {R"({"model_type": "llava", "vision_config": {"model_type": "siglip_vision_model"}})",
         "siglip_vision_model"},
        {R"({"model_type": "idefics3", "scale_factor": 3, "vision_config": {"image_size": 32,
             "patch_size": 8, "hidden_size": 32, "num_attention_heads": 2}})", "scale_factor 3"},
        {R"([1, 2])", "not a JSON object"},
        {R"({"model_type": "qwen2_5_vl", "vision_config": {"hidden_act": "gelu"}})",
         "silu only"},
        {R"({"model_type": "qwen2_5_vl", "vision_config": {"window_size": 8}})", "window_size 8"},
        {R"({"model_type": "qwen2_5_vl", "vision_config": {"fullatt_block_indexes": [1, -2]}})",
         "fullatt_block_indexes"},
    };
    for (const bad_case& c : cases) {
        CAPTURE(c.json);
        auto r = parse_vision_tower_config(c.json);
        REQUIRE_FALSE(r.ok());
        CHECK(r.kind() == error_kind::invalid_argument);
        CHECK_MESSAGE(r.message().find(c.needle) != std::string::npos, r.message());
    }
}

TEST_CASE("vision tower: LLaVA (CLIP, layer -2, CLS dropped) matches transformers in f32") {
    check_batch("llava", "pixel_values.bin", "features.bin", "pixel_shape", "feature_shape",
                k_f32_tolerance);
}

TEST_CASE("vision tower: LLaVA with feature layers [-3, -1] and the CLS kept matches") {
    check_batch("llava_multilayer", "pixel_values.bin", "features.bin", "pixel_shape",
                "feature_shape", k_f32_tolerance);
}

TEST_CASE("vision tower: Idefics3 (SigLIP + pixel shuffle, bf16 weights) matches per tile") {
    // The reference runs in float32 on the same bf16-rounded weights.
    check_batch("idefics3", "pixel_values.bin", "features.bin", "pixel_shape", "feature_shape",
                k_f32_tolerance);
}

TEST_CASE("vision tower: Idefics3 tiles larger than image_size bucket their positions") {
    check_batch("idefics3", "pixel_values_48.bin", "features_48.bin", "pixel_shape_48",
                "feature_shape_48", k_f32_tolerance);
    // 6 patches per side over a 4-entry table: coordinates k/6 fall in buckets 0,0,1,2,2,3.
    const std::vector<int64_t> ids = siglip_position_ids(6, 6, 4);
    const int64_t b[6] = {0, 0, 1, 2, 2, 3};
    for (int64_t i = 0; i < 6; ++i)
        for (int64_t j = 0; j < 6; ++j) CHECK(ids[i * 6 + j] == b[i] * 4 + b[j]);
    const std::vector<int64_t> same = siglip_position_ids(26, 26, 26);
    for (int64_t i = 0; i < 26 * 26; ++i) CHECK(same[i] == i);
}

TEST_CASE("vision tower: processor output end to end matches the HF processor + model") {
    check_processed("llava");
    check_processed("idefics3");
    check_processed("qwen25vl");  // 8 x 14 patches: full and partial windows
}

TEST_CASE("vision tower: Qwen2.5-VL (window attention, 2-D rotary, merger, f16) matches") {
    const std::string dir = test::mm_model_dir("qwen25vl");
    const reference ref(dir);
    const std::vector<int64_t> ps = ref.shape("pixel_shape"), fs = ref.shape("feature_shape");
    const std::vector<std::array<int64_t, 3>> grids = test::json_grids(ref.root["grid_thw"]);
    const std::vector<float> pixels = test::read_floats(dir + "/pixel_values.bin");
    const std::vector<float> want = test::read_floats(dir + "/features.bin");
    REQUIRE(static_cast<int64_t>(pixels.size()) == ps[0] * ps[1]);
    vision_tower tower(load("qwen25vl"));
    CHECK(tower.model().config.fullatt_block_indexes == std::vector<int64_t>{1});
    CHECK(tower.model().weights.qwen_blocks[0].qkv.weight.type == dtype::f16);
    cpu::thread_pool pool(2);
    auto got = tower.encode_patches(pixels.data(), grids, pool);
    REQUIRE_MESSAGE(got.ok(), (got.ok() ? "" : got.message()));
    // 12 x 10 patches -> 30 tokens, 4 x 4 -> 4: the processor's grid / merge^2.
    CHECK(got->image_tokens == std::vector<int64_t>{30, 4});
    CHECK(got->tokens_per_image == 0);
    CHECK(got->dim == fs[1]);
    const double diff = test::max_abs_diff(got->data, want);
    MESSAGE("qwen25vl two images: max |diff| vs transformers = " << diff);
    CHECK(diff <= k_f32_tolerance);

    // One call per image gives the same rows.
    const int64_t width = ps[1], first = grids[0][1] * grids[0][2];
    auto a = tower.encode_patches(pixels.data(), {grids[0]}, pool);
    auto b = tower.encode_patches(pixels.data() + first * width, {grids[1]}, pool);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    std::vector<float> both = a->data;
    both.insert(both.end(), b->data.begin(), b->data.end());
    CHECK(test::max_abs_diff(both, got->data) <= 1e-6);

    // Sizes the tower cannot take.
    auto odd = tower.encode_patches(pixels.data(), {{1, 5, 4}}, pool);
    REQUIRE_FALSE(odd.ok());
    CHECK(odd.message().find("1x5x4") != std::string::npos);
    CHECK_FALSE(tower.tokens_per_image(32, 32).ok());
    CHECK_FALSE(tower.encode(pixels.data(), 1, 32, 32, pool).ok());
    vision_tower llava(load("llava"));
    CHECK_FALSE(llava.encode_patches(pixels.data(), grids, pool).ok());
}

TEST_CASE("vision tower: images in one call equal one call each, across chunk boundaries") {
    for (const char* name : {"llava", "idefics3"}) {
        CAPTURE(name);
        vision_tower tower(load(name));
        const auto& e = tower.model().config.encoder;
        const int64_t side = e.image_size, per_image = 3 * side * side;
        const int64_t seq = tower.model().config.family == vision_family::clip_llava
                                ? e.patches_per_side() * e.patches_per_side() + 1
                                : e.patches_per_side() * e.patches_per_side();
        // Enough images for two chunks plus a partial third.
        const int64_t n = 2 * (vision_tower::k_max_chunk_tokens / seq) + 3;
        std::vector<float> pixels(static_cast<size_t>(n * per_image));
        uint32_t state = 12345;
        for (float& v : pixels) {
            state = state * 1664525u + 1013904223u;
            v = float(int(state >> 8) % 2001 - 1000) / 500.0f;
        }
        cpu::thread_pool pool(2);
        auto all = tower.encode(pixels.data(), n, side, side, pool);
        REQUIRE(all.ok());
        REQUIRE(all->num_images == n);
        const int64_t rows = all->tokens_per_image * all->dim;
        for (int64_t i : {int64_t{0}, int64_t{1}, n / 2, n - 1}) {
            CAPTURE(i);
            auto one = tower.encode(pixels.data() + i * per_image, 1, side, side, pool);
            REQUIRE(one.ok());
            const std::vector<float> part(all->data.begin() + i * rows,
                                          all->data.begin() + (i + 1) * rows);
            CHECK(test::max_abs_diff(part, one->data) <= 1e-6);
        }
        auto none = tower.encode(pixels.data(), 0, side, side, pool);
        REQUIRE(none.ok());
        CHECK(none->data.empty());
    }
}

TEST_CASE("vision tower: a size the tower cannot take is an error, not a crash") {
    vision_tower llava(load("llava"));
    vision_tower idefics(load("idefics3"));
    cpu::thread_pool pool(1);
    std::vector<float> pixels(3 * 40 * 40, 0.5f);
    auto r = llava.encode(pixels.data(), 1, 40, 40, pool);
    REQUIRE_FALSE(r.ok());
    CHECK(r.kind() == error_kind::invalid_argument);
    CHECK(r.message().find("CLIP takes 32x32") != std::string::npos);
    CHECK_FALSE(idefics.tokens_per_image(32, 48).ok());  // not square
    CHECK_FALSE(idefics.tokens_per_image(40, 40).ok());  // 5 patches: odd for scale 2
    CHECK(*idefics.tokens_per_image(64, 64) == 16);
    processed_image wrong;
    wrong.shape = {2, 3, 32, 32};
    wrong.pixel_values.resize(2 * 3 * 32 * 32);
    auto w = llava.encode(wrong, pool);
    REQUIRE_FALSE(w.ok());
    CHECK(w.message().find("2x3x32x32") != std::string::npos);
    wrong.shape = {3, 3, 32, 32};  // values do not fill the shape
    CHECK_FALSE(idefics.encode(wrong, pool).ok());
}

TEST_CASE("vision tower: a missing tensor or a shape the config disagrees with is named") {
    namespace fs = std::filesystem;
    const std::string config = read_text(test::mm_model_dir("llava") + "/config.json");
    {
        const fs::path dir = actorlm::test::fresh_temp_dir("vision-missing");
        fs::create_directories(dir);
        std::ofstream(dir / "config.json") << config;
        rewrite_weights(test::mm_model_dir("llava"), dir, "multi_modal_projector.linear_2.bias", "F32");
        auto m = load_vision_model(dir.string());
        REQUIRE_FALSE(m.ok());
        CHECK(m.kind() == error_kind::invalid_argument);
        CHECK_MESSAGE(m.message().find("missing tensor 'multi_modal_projector.linear_2.bias'") !=
                          std::string::npos,
                      m.message());
        fs::remove_all(dir);
    }
    {  // one more layer than the checkpoint holds, read up to layer -1
        const fs::path dir = copy_with_config(
            "llava", "layers",
            replace(replace(config, "\"num_hidden_layers\": 3", "\"num_hidden_layers\": 4"),
                    "\"vision_feature_layer\": -2", "\"vision_feature_layer\": -1"));
        // (vision_feature_layer follows vision_config in the file.)
        auto m = load_vision_model(dir.string());
        REQUIRE_FALSE(m.ok());
        CHECK_MESSAGE(m.message().find("missing tensor 'vision_tower.encoder.layers.3.") !=
                          std::string::npos,
                      m.message());
        fs::remove_all(dir);
    }
    {
        const fs::path dir = copy_with_config(
            "llava", "shape",
            replace(config, "\"intermediate_size\": 64", "\"intermediate_size\": 48"));
        auto m = load_vision_model(dir.string());
        REQUIRE_FALSE(m.ok());
        CHECK_MESSAGE(m.message().find("mlp.fc1.weight' has shape [64, 32], the config needs "
                                       "[48, 32]") != std::string::npos,
                      m.message());
        fs::remove_all(dir);
    }
    {
        const fs::path dir = copy_with_config("idefics3", "no-connector",
                                              read_text(test::mm_model_dir("idefics3") + "/config.json"));
        rewrite_weights(test::mm_model_dir("idefics3"), dir, "model.connector.modality_projection.proj.weight",
                        "F32");
        auto m = load_vision_model(dir.string());
        REQUIRE_FALSE(m.ok());
        CHECK_MESSAGE(m.message().find("missing tensor "
                                       "'model.connector.modality_projection.proj.weight'") !=
                          std::string::npos,
                      m.message());
        fs::remove_all(dir);
    }
    auto none = load_vision_model((fs::temp_directory_path() / "actorlm-no-such-model").string());
    REQUIRE_FALSE(none.ok());
    CHECK(none.message().find("config.json") != std::string::npos);
}

TEST_CASE("vision tower: f16 weights give the f32 result within fp16 rounding") {
    namespace fs = std::filesystem;
    const fs::path dir = actorlm::test::fresh_temp_dir("vision-f16");
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << read_text(test::mm_model_dir("llava") + "/config.json");
    rewrite_weights(test::mm_model_dir("llava"), dir, "", "F16");
    auto m = load_vision_model(dir.string());
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
    CHECK(m->weights.layers[0].fc1.weight.type == dtype::f16);
    vision_tower tower(std::make_shared<const vision_model>(std::move(*m)));
    const std::vector<float> pixels = test::read_floats(test::mm_model_dir("llava") + "/pixel_values.bin");
    const std::vector<float> want = test::read_floats(test::mm_model_dir("llava") + "/features.bin");
    cpu::thread_pool pool(2);
    auto got = tower.encode(pixels.data(), 2, 32, 32, pool);
    REQUIRE(got.ok());
    const double diff = test::max_abs_diff(got->data, want);
    MESSAGE("llava with f16 matrices: max |diff| vs transformers f32 = " << diff);
    CHECK(diff > 0.0);   // the f16 matrices were really used
    CHECK(diff < 2e-2);  // fp16 keeps 11 bits: ~5e-4 relative per weight
    fs::remove_all(dir);
}

// vision_mmproj_test: vision towers loaded from llama.cpp mmproj GGUFs (written from the tiny
// HF checkpoints of tests/data/mm/models by tools/make-mmproj-references.sh with llama.cpp's
// converters) against transformers' features and against the same checkpoint loaded from its
// HF directory: LLaVA-1.5 ("mlp", legacy converter: f16 matrices), Idefics3 ("idefics3"),
// Qwen2.5-VL ("qwen2.5vl_merger"), the last two also as q8_0 files; and the errors: wrong
// file, unsupported projector type, missing tensor, missing key, wrong shape.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <simdjson.h>

#include "cpu/thread_pool.hpp"
#include "model/gguf_file.hpp"
#include "model/gguf_writer.hpp"
#include "model/tensor_codec.hpp"
#include "multimodal/vision_mmproj.hpp"
#include "multimodal/vision_tower.hpp"
#include "support/mm_references.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::multimodal;

namespace vision_mmproj_test {

// f16 files of bf16 / f16 checkpoints hold the same values; measured max |diff| against
// transformers is ~1e-6 (docs/multimodal.md "mmproj GGUF").
constexpr double k_tolerance = 1e-4;
// Q8_0 weights and 8-bit activation blocks: measured 0.053 (idefics3, features up to ~5)
// and 0.0066 (qwen25vl, up to ~0.8); a wrong row layout or scale is off by O(1).
constexpr double k_q8_0_tolerance = 0.15;


std::string mmproj_path(const std::string& name, const std::string& type = "f16") {
    return test::mm_model_dir(name) + "/mmproj-" + name + "-" + type + ".gguf";
}

vision_model load_mmproj(const std::string& name, const std::string& type = "f16") {
    auto m = load_vision_model_from_mmproj(mmproj_path(name, type));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
    return std::move(*m);
}

vision_model mm_load_hf(const std::string& name) {
    auto m = load_vision_model(test::mm_model_dir(name));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
    return std::move(*m);
}

// Rounds values through f16, as the legacy converter stores every matrix and the position
// table.
std::vector<float> mm_round_f16(const std::vector<float>& v) {
    const std::vector<uint8_t> h = encode_f32(dtype::f16, v.data(), static_cast<int64_t>(v.size()));
    std::vector<float> out(v.size());
    decode_f32(dtype::f16, h.data(), static_cast<int64_t>(v.size()), out.data());
    return out;
}

void mm_round_matrix(tensor& t, std::vector<std::shared_ptr<void>>& storage) {
    auto f = tensor_to_f32(t);
    REQUIRE(f.ok());
    auto buf = std::make_shared<std::vector<float>>(mm_round_f16(*f));
    t.type = dtype::f32;
    t.data = buf->data();
    t.num_bytes = buf->size() * sizeof(float);
    storage.push_back(std::move(buf));
}

// The HF-loaded LLaVA tower with the values the legacy mmproj holds: its matrices and
// position table rounded to f16 (norms, biases and the class embedding stay f32).
vision_model llava_as_f16(vision_model m) {
    vision_tower_weights& w = m.weights;
    std::vector<std::shared_ptr<void>> owned;
    mm_round_matrix(w.patch_embedding.weight, owned);
    for (vision_layer_weights& l : w.layers)
        for (vision_linear* lin : {&l.q, &l.k, &l.v, &l.out, &l.fc1, &l.fc2})
            mm_round_matrix(lin->weight, owned);
    mm_round_matrix(w.projector_1.weight, owned);
    mm_round_matrix(w.projector_2.weight, owned);
    w.position_embedding = mm_round_f16(w.position_embedding);
    w.storage.insert(w.storage.end(), owned.begin(), owned.end());
    return m;
}

vision_features encode_reference_pixels(const vision_model& m, const std::string& name) {
    const std::string dir = test::mm_model_dir(name);
    simdjson::dom::parser parser;
    simdjson::dom::element ref;
    REQUIRE(parser.load(dir + "/reference.json").get(ref) == simdjson::SUCCESS);
    const std::vector<int64_t> ps = test::json_ints(ref["pixel_shape"]);
    const std::vector<float> pixels = test::read_floats(dir + "/pixel_values.bin");
    vision_tower tower(std::make_shared<const vision_model>(m));
    cpu::thread_pool pool(2);
    auto got = tower.encode(pixels.data(), ps[0], ps[2], ps[3], pool);
    REQUIRE_MESSAGE(got.ok(), (got.ok() ? "" : got.message()));
    return std::move(*got);
}

// Qwen2.5-VL's reference patches (two pictures' grids) through `m`.
vision_features encode_qwen_reference_patches(vision_model m) {
    const std::string dir = test::mm_model_dir("qwen25vl");
    simdjson::dom::parser parser;
    simdjson::dom::element ref;
    REQUIRE(parser.load(dir + "/reference.json").get(ref) == simdjson::SUCCESS);
    const std::vector<std::array<int64_t, 3>> grids = test::json_grids(ref["grid_thw"]);
    const std::vector<float> pixels = test::read_floats(dir + "/pixel_values.bin");
    cpu::thread_pool pool(2);
    vision_tower tower(std::make_shared<const vision_model>(std::move(m)));
    auto got = tower.encode_patches(pixels.data(), grids, pool);
    REQUIRE_MESSAGE(got.ok(), (got.ok() ? "" : got.message()));
    CHECK(got->image_tokens == std::vector<int64_t>{30, 4});
    return std::move(*got);
}

// The llava mmproj with one key or tensor changed, written to a temp file.
struct edit {
    std::string drop_tensor;
    std::string drop_key;
    std::string projector_type;
    std::string architecture;
    std::string reshape_tensor;  // stored as a {1, n} row instead
};

std::string edited_copy(const std::string& name, const edit& e, const std::string& tag) {
    auto src = gguf_file::open(mmproj_path(name));
    REQUIRE(src.ok());
    gguf_writer out;
    const gguf_file& f = **src;
    for (const std::string& key : f.keys()) {
        if (key == e.drop_key) continue;
        const gguf_type t = *f.type_of(key);
        if (t == gguf_type::string) {
            std::string v = *f.get_string(key);
            if (key == "clip.projector_type" && !e.projector_type.empty()) v = e.projector_type;
            if (key == "general.architecture" && !e.architecture.empty()) v = e.architecture;
            out.set_string(key, v);
        } else if (t == gguf_type::boolean) {
            out.set_bool(key, *f.get_bool(key));
        } else if (t == gguf_type::float32) {
            out.set_f32(key, static_cast<float>(*f.get_float(key)));
        } else if (t == gguf_type::array) {
            const auto info = *f.array_info(key);
            if (info.first == gguf_type::float32) out.set_f32_array(key, f.get_float_array(key));
            else out.set_i32_array(key, f.get_int_array(key));
        } else {
            out.set_u32(key, static_cast<uint32_t>(*f.get_int(key)));
        }
    }
    for (const gguf_tensor_info& t : f.tensors()) {
        if (t.name == e.drop_tensor) continue;
        std::vector<int64_t> shape = t.shape;
        if (t.name == e.reshape_tensor) shape = {1, t.num_elements()};
        out.add_tensor(t.name, t.ggml_type, shape,
                       std::vector<uint8_t>(t.data, t.data + t.num_bytes));
    }
    const std::string path = actorlm::test::temp_path("mmproj-" + tag + ".gguf").string();
    const status written = out.write(path);
    REQUIRE_MESSAGE(written.ok(), written.message());
    return path;
}

// The load's error message; the file is removed.
std::string mm_load_error(const std::string& path) {
    auto m = load_vision_model_from_mmproj(path);
    std::filesystem::remove(path);
    REQUIRE_FALSE(m.ok());
    CHECK(m.kind() == error_kind::invalid_argument);
    return m.message();
}

}  // namespace vision_mmproj_test

using namespace vision_mmproj_test;

TEST_CASE("vision mmproj: LLaVA-1.5 (legacy converter, f16) matches the HF directory") {
    const vision_model gguf = load_mmproj("llava");
    const vision_model hf = mm_load_hf("llava");
    // The converter kept 2 of 3 layers (LLaVA reads layer -2) and named fc1 ffn_down.
    CHECK(gguf.config.family == vision_family::clip_llava);
    CHECK(gguf.config.encoder.num_layers == 2);
    CHECK(gguf.config.feature_layers == hf.config.feature_layers);
    CHECK(gguf.config.encoder.hidden_act == vision_activation::quick_gelu);
    CHECK(gguf.weights.layers.size() == hf.weights.layers.size());
    CHECK(gguf.weights.layers[0].fc1.weight.shape == std::vector<int64_t>{64, 32});
    CHECK(gguf.weights.layers[0].fc1.weight.type == dtype::f16);
    CHECK(gguf.output_dim == hf.output_dim);

    const vision_features got = encode_reference_pixels(gguf, "llava");
    // Against the HF tower holding the same f16-rounded values: only summation order differs.
    const vision_features same = encode_reference_pixels(llava_as_f16(hf), "llava");
    const double d_same = test::max_abs_diff(got.data, same.data);
    MESSAGE("llava mmproj vs HF directory with f16-rounded matrices: " << d_same);
    CHECK(d_same <= k_tolerance);
    // Against transformers' f32 features: the f16 rounding of the weights.
    const std::vector<float> want = test::read_floats(test::mm_model_dir("llava") + "/features.bin");
    const double d_hf = test::max_abs_diff(got.data, want);
    MESSAGE("llava mmproj (f16) vs transformers f32: " << d_hf);
    CHECK(d_hf > 0.0);
    CHECK(d_hf <= 2e-2);

    auto norm = read_mmproj_image_norm(mmproj_path("llava"));
    REQUIRE(norm.ok());
    CHECK(norm->mean[0] == doctest::Approx(0.48145466));
    CHECK(norm->std[2] == doctest::Approx(0.27577711));
}

TEST_CASE("vision mmproj: Idefics3 (convert_hf_to_gguf --mmproj, f16) matches transformers") {
    const vision_model gguf = load_mmproj("idefics3");
    const vision_model hf = mm_load_hf("idefics3");
    CHECK(gguf.config.family == vision_family::siglip_idefics3);
    CHECK(gguf.config.scale_factor == hf.config.scale_factor);
    CHECK(gguf.config.encoder.hidden_act == vision_activation::gelu_tanh);
    CHECK(gguf.config.encoder.layer_norm_eps == doctest::Approx(hf.config.encoder.layer_norm_eps));
    CHECK(gguf.output_dim == hf.output_dim);
    const vision_features got = encode_reference_pixels(gguf, "idefics3");
    const std::vector<float> want = test::read_floats(test::mm_model_dir("idefics3") + "/features.bin");
    const double d_hf = test::max_abs_diff(got.data, want);
    MESSAGE("idefics3 mmproj vs transformers: " << d_hf);
    CHECK(d_hf <= k_tolerance);
    const double d_dir = test::max_abs_diff(got.data, encode_reference_pixels(hf, "idefics3").data);
    MESSAGE("idefics3 mmproj vs HF directory: " << d_dir);
    CHECK(d_dir <= k_tolerance);
}

TEST_CASE("vision mmproj: Qwen2.5-VL (split Conv3d and QKV put back) matches transformers") {
    vision_model gguf = load_mmproj("qwen25vl");
    const vision_model hf = mm_load_hf("qwen25vl");
    CHECK(gguf.config.family == vision_family::qwen2_5_vl);
    // n_wa_pattern 2 over 3 blocks: block 1 attends over the whole image, as in config.json.
    CHECK(gguf.config.fullatt_block_indexes == hf.config.fullatt_block_indexes);
    // The converter does not record window_size; llama.cpp uses 112 pixels.
    CHECK(gguf.config.window_size == 112);
    CHECK(hf.config.window_size == 16);
    gguf.config.window_size = hf.config.window_size;

    const std::vector<float> want =
        test::read_floats(test::mm_model_dir("qwen25vl") + "/features.bin");
    const vision_features got = encode_qwen_reference_patches(std::move(gguf));
    const double d_hf = test::max_abs_diff(got.data, want);
    MESSAGE("qwen25vl mmproj vs transformers: " << d_hf);
    CHECK(d_hf <= k_tolerance);
}

TEST_CASE("vision mmproj: q8_0 files (convert_hf_to_gguf --outtype q8_0) run their matrices quantized") {
    // The converter quantizes the 2-D matrices and keeps the patch embedding and vectors
    // f32; the tower multiplies the Q8_0 rows as they are (activations quantized to 8-bit
    // blocks, as ggml does), so the difference from transformers is Q8_0's rounding.
    vision_model idefics3 = load_mmproj("idefics3", "q8_0");
    CHECK(idefics3.weights.layers[0].q.weight.type == dtype::q8_0);
    CHECK(idefics3.weights.connector.weight.type == dtype::q8_0);
    const vision_features got = encode_reference_pixels(idefics3, "idefics3");
    const double d_idefics3 = test::max_abs_diff(
        got.data, test::read_floats(test::mm_model_dir("idefics3") + "/features.bin"));
    MESSAGE("idefics3 q8_0 mmproj vs transformers: " << d_idefics3);
    CHECK(d_idefics3 <= k_q8_0_tolerance);

    vision_model qwen = load_mmproj("qwen25vl", "q8_0");
    CHECK(qwen.weights.qwen_blocks[0].qkv.weight.type == dtype::q8_0);
    qwen.config.window_size = 16;  // the checkpoint's (see the f16 case)
    const vision_features got_qwen = encode_qwen_reference_patches(std::move(qwen));
    const double d_qwen = test::max_abs_diff(
        got_qwen.data, test::read_floats(test::mm_model_dir("qwen25vl") + "/features.bin"));
    MESSAGE("qwen25vl q8_0 mmproj vs transformers: " << d_qwen);
    CHECK(d_qwen <= k_q8_0_tolerance);
}

TEST_CASE("vision mmproj: a wrong file, projector type, key, tensor or shape is named") {
    // A text GGUF, or an mmproj of another architecture.
    std::string msg = mm_load_error(edited_copy("idefics3", {.architecture = "llama"}, "arch"));
    CHECK(msg.find("not an mmproj file") != std::string::npos);
    CHECK(msg.find("'llama'") != std::string::npos);

    msg = mm_load_error(edited_copy("idefics3", {.projector_type = "pixtral"}, "type"));
    CHECK(msg.find("clip.projector_type 'pixtral' is not supported") != std::string::npos);

    msg = mm_load_error(edited_copy("idefics3", {.drop_tensor = "v.blk.1.attn_k.weight"}, "tensor"));
    CHECK(msg.find("missing tensor 'v.blk.1.attn_k.weight'") != std::string::npos);
    CHECK(msg.find("mmproj-tensor.gguf") != std::string::npos);

    msg = mm_load_error(edited_copy("qwen25vl", {.drop_tensor = "v.patch_embd.weight.1"}, "conv"));
    CHECK(msg.find("missing tensor 'v.patch_embd.weight.1'") != std::string::npos);

    msg = mm_load_error(edited_copy("llava", {.drop_key = "clip.vision.block_count"}, "key"));
    CHECK(msg.find("'clip.vision.block_count'") != std::string::npos);

    msg = mm_load_error(edited_copy("qwen25vl", {.drop_key = "clip.vision.n_wa_pattern"}, "wa"));
    CHECK(msg.find("'clip.vision.n_wa_pattern'") != std::string::npos);

    msg = mm_load_error(edited_copy("llava", {.drop_key = "clip.projector_type"}, "notype"));
    CHECK(msg.find("'clip.projector_type'") != std::string::npos);

    msg = mm_load_error(edited_copy("llava", {.reshape_tensor = "mm.2.weight"}, "shape"));
    CHECK(msg.find("tensor 'mm.2.weight' has shape [1, 1024]") != std::string::npos);

    CHECK_FALSE(load_vision_model_from_mmproj(test::mm_model_dir("llava") + "/absent.gguf").ok());
    const std::string no_std = edited_copy("llava", {.drop_key = "clip.vision.image_std"}, "std");
    auto norm = read_mmproj_image_norm(no_std);
    std::filesystem::remove(no_std);
    REQUIRE_FALSE(norm.ok());
    CHECK(norm.message().find("clip.vision.image_std") != std::string::npos);
}

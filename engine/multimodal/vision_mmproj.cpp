// vision_mmproj: mmproj GGUF -> vision_model. llama.cpp's converters store the HF matrices
// untransposed ({out, in} outermost first, as nn.Linear), patch embeddings as the conv weight
// ({hidden, channels, p, p}) and do not permute Q/K for these families, so most tensors are
// zero-copy views like the safetensors path. Two need a copy: Qwen2.5-VL's Conv3d, split by the
// converter into one Conv2d per temporal slice, and its Q/K/V, split out of the fused qkv.
#include "multimodal/vision_mmproj.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>

#include "model/gguf_file.hpp"
#include "model/tensor_codec.hpp"
#include "multimodal/vision_tensor_reader.hpp"

namespace actorlm::multimodal {

// Named rather than anonymous: unity batches join this file with its neighbours.
namespace vision_mmproj_detail {

// Tensors and keys of one mmproj file, every lookup checked; errors name the tensor or key.
class mmproj_reader final : public vision_tensor_reader {
public:
    explicit mmproj_reader(const gguf_file& f) : f_(f) {}

    bool has(const std::string& name) const { return f_.find_tensor(name) != nullptr; }

    std::vector<int64_t> shape_of(const std::string& name) const {
        const gguf_tensor_info* t = f_.find_tensor(name);
        return t ? t->shape : std::vector<int64_t>{};
    }

    result<tensor> matrix(const std::string& name,
                          const std::vector<int64_t>& shape) const override {
        const gguf_tensor_info* info = f_.find_tensor(name);
        if (!info)
            return make_error(error_kind::invalid_argument, "missing tensor '%s'", name.c_str());
        const auto type = static_cast<dtype>(info->ggml_type);
        // convert_hf_to_gguf.py --outtype q8_0 quantizes the 2-D matrices (rows stay whole
        // blocks, so the matmul takes them as they are); vectors are decoded to float32.
        if (!can_decode(type))
            return make_error(error_kind::invalid_argument,
                              "tensor '%s' has ggml type %u (supported: F32, F16, BF16, Q8_0, "
                              "Q4_0, Q5_0)",
                              name.c_str(), info->ggml_type);
        if (info->shape != shape)
            return make_error(error_kind::invalid_argument,
                              "tensor '%s' has shape %s, the clip.vision hyperparameters need %s",
                              name.c_str(), dims_text(info->shape).c_str(),
                              dims_text(shape).c_str());
        tensor t;
        t.name = name;
        t.type = type;
        t.shape = info->shape;
        t.data = info->data;
        t.num_bytes = info->num_bytes;
        return t;
    }

    // A required positive integer key.
    result<int64_t> size(const char* key) const {
        std::optional<int64_t> v = f_.get_int(key);
        if (!v) return make_error(error_kind::invalid_argument, "missing integer key '%s'", key);
        if (*v <= 0)
            return make_error(error_kind::invalid_argument, "key '%s' is %lld, not positive", key,
                              static_cast<long long>(*v));
        return *v;
    }

    int64_t size_or(const char* key, int64_t fallback) const {
        return f_.has(key) ? f_.get_int(key).value_or(0) : fallback;
    }

    bool flag(const char* key) const { return f_.get_bool(key).value_or(false); }

    const gguf_file& file() const { return f_; }

private:
    const gguf_file& f_;
};

// Keeps `bytes` alive with the model and views them as a {rows, cols} matrix of `type`.
tensor owned_matrix(std::vector<uint8_t> bytes, dtype type, std::vector<int64_t> shape,
                    std::string name, vision_tower_weights& w) {
    auto buf = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
    tensor t;
    t.name = std::move(name);
    t.type = type;
    t.shape = std::move(shape);
    t.data = buf->data();
    t.num_bytes = buf->size();
    w.storage.push_back(std::move(buf));
    return t;
}

// The encoder hyperparameters every projector type shares.
status read_encoder(const mmproj_reader& r, vision_encoder_config& e) {
    struct field {
        const char* key;
        int64_t* out;
    };
    for (const field& f : {field{"clip.vision.embedding_length", &e.hidden_size},
                           field{"clip.vision.feed_forward_length", &e.intermediate_size},
                           field{"clip.vision.block_count", &e.num_layers},
                           field{"clip.vision.attention.head_count", &e.num_heads},
                           field{"clip.vision.image_size", &e.image_size},
                           field{"clip.vision.patch_size", &e.patch_size}}) {
        auto v = r.size(f.key);
        if (!v) return v.err();
        *f.out = *v;
    }
    e.num_channels = 3;
    std::optional<double> eps = r.file().get_float("clip.vision.attention.layer_norm_epsilon");
    if (!eps || !(*eps > 0))
        return make_error(error_kind::invalid_argument,
                          "missing or bad key 'clip.vision.attention.layer_norm_epsilon'");
    e.layer_norm_eps = *eps;
    return check_encoder_sizes(e, "clip.vision.embedding_length",
                               "clip.vision.attention.head_count", "clip.vision.image_size",
                               "clip.vision.patch_size");
}

// One CLIP / SigLIP encoder layer. fc1 / fc2 are `ffn_up` / `ffn_down`, except in files from
// llama.cpp's legacy CLIP converter, which names fc1 `ffn_down`: the shapes tell (as clip.cpp
// decides), and when intermediate == hidden they cannot, so the projector type does.
status load_layer(const mmproj_reader& r, const std::string& l, const vision_encoder_config& e,
                  bool legacy_names, vision_layer_weights& lw) {
    const int64_t d = e.hidden_size, inter = e.intermediate_size;
    ACTORLM_TRY(r.norm(l + "ln1", d, lw.norm1));
    ACTORLM_TRY(r.norm(l + "ln2", d, lw.norm2));
    ACTORLM_TRY(r.linear(l + "attn_q", d, d, true, lw.q));
    ACTORLM_TRY(r.linear(l + "attn_k", d, d, true, lw.k));
    ACTORLM_TRY(r.linear(l + "attn_v", d, d, true, lw.v));
    ACTORLM_TRY(r.linear(l + "attn_out", d, d, true, lw.out));
    const bool swapped = inter != d
                             ? r.shape_of(l + "ffn_down.weight") == std::vector<int64_t>{inter, d}
                             : legacy_names;
    ACTORLM_TRY(r.linear(l + (swapped ? "ffn_down" : "ffn_up"), inter, d, true, lw.fc1));
    return r.linear(l + (swapped ? "ffn_up" : "ffn_down"), d, inter, true, lw.fc2);
}

status load_vit(const mmproj_reader& r, const vision_tower_config& cfg, int64_t num_layers,
                bool legacy_names, vision_tower_weights& w) {
    const vision_encoder_config& e = cfg.encoder;
    const int64_t d = e.hidden_size, p = e.patch_size;
    const bool clip = cfg.family == vision_family::clip_llava;
    auto patch = r.matrix("v.patch_embd.weight", {d, e.num_channels, p, p});
    if (!patch) return patch.err();
    if (patch->type == dtype::f32 || patch->type == dtype::f16 || patch->type == dtype::bf16) {
        w.patch_embedding.weight = std::move(*patch);
        w.patch_embedding.weight.shape = {d, e.num_channels * p * p};
    } else {
        // A quantized row of c * p * p values (588 for 14-pixel patches) need not be whole
        // blocks of the matmul's activation quantizer: multiply it as float32.
        auto f = tensor_to_f32(*patch);
        if (!f) return f.err();
        std::vector<uint8_t> bytes(f->size() * sizeof(float));
        std::memcpy(bytes.data(), f->data(), bytes.size());
        w.patch_embedding.weight = owned_matrix(std::move(bytes), dtype::f32,
                                                {d, e.num_channels * p * p}, "v.patch_embd", w);
    }
    if (clip) {
        auto cls = r.vector("v.class_embd", {d});
        if (!cls) return cls.err();
        w.class_embedding = std::move(*cls);
        ACTORLM_TRY(r.norm("v.pre_ln", d, w.pre_norm));
    } else {
        auto bias = r.vector("v.patch_embd.bias", {d});
        if (!bias) return bias.err();
        w.patch_embedding.bias = std::move(*bias);
        ACTORLM_TRY(r.norm("v.post_ln", d, w.post_norm));
    }
    const int64_t side = e.patches_per_side();
    auto pos = r.vector("v.position_embd.weight", {side * side + (clip ? 1 : 0), d});
    if (!pos) return pos.err();
    w.position_embedding = std::move(*pos);
    w.layers.resize(static_cast<size_t>(num_layers));
    for (int64_t i = 0; i < num_layers; ++i)
        ACTORLM_TRY(load_layer(r, "v.blk." + std::to_string(i) + ".", e, legacy_names,
                               w.layers[static_cast<size_t>(i)]));
    return status::success();
}

// LLaVA-1.5 ("mlp"). The legacy converter keeps the layers up to the one LLaVA reads and
// writes block_count accordingly (or clip.vision.feature_layer, hidden_states indexes, when
// the checkpoint listed them), so the features are the last stored layer's output, the class
// row dropped (llama.cpp's llava graph always drops it), through mm.0 -> GELU -> mm.2.
status load_llava(const mmproj_reader& r, vision_tower_config& cfg, vision_tower_weights& w,
                  int64_t& output_dim) {
    cfg.family = vision_family::clip_llava;
    cfg.model_type = "llava";
    const int64_t d = cfg.encoder.hidden_size, n = cfg.encoder.num_layers;
    cfg.feature_layers.clear();
    for (int32_t k : r.file().get_int_array("clip.vision.feature_layer")) {
        if (k < 0 || k > n)
            return make_error(error_kind::invalid_argument,
                              "clip.vision.feature_layer %d is out of range for %lld layers", k,
                              static_cast<long long>(n));
        cfg.feature_layers.push_back(k);
    }
    if (cfg.feature_layers.empty()) cfg.feature_layers.push_back(n);
    cfg.drop_class_token = true;
    // Not recorded in the file: LlavaConfig's default projector_hidden_act, "gelu" (erf).
    cfg.projector_act = vision_activation::gelu_erf;
    cfg.projector_bias = true;
    const int64_t deepest = *std::max_element(cfg.feature_layers.begin(),
                                              cfg.feature_layers.end());
    ACTORLM_TRY(load_vit(r, cfg, deepest, /*legacy_names=*/true, w));
    const int64_t in = d * static_cast<int64_t>(cfg.feature_layers.size());
    const std::vector<int64_t> first = r.shape_of("mm.0.weight");
    output_dim = first.size() == 2 ? first[0] : 0;
    ACTORLM_TRY(r.linear("mm.0", output_dim, in, true, w.projector_1));
    return r.linear("mm.2", output_dim, output_dim, true, w.projector_2);
}

// Idefics3 / SmolVLM ("idefics3"): SigLIP, post-layernorm, pixel shuffle, mm.model.fc (no bias).
status load_idefics3(const mmproj_reader& r, vision_tower_config& cfg, vision_tower_weights& w,
                     int64_t& output_dim) {
    cfg.family = vision_family::siglip_idefics3;
    cfg.model_type = "idefics3";
    cfg.scale_factor = r.size_or("clip.vision.projector.scale_factor", 2);
    const vision_encoder_config& e = cfg.encoder;
    if (cfg.scale_factor <= 0 || e.patches_per_side() % cfg.scale_factor != 0)
        return make_error(error_kind::invalid_argument,
                          "clip.vision.projector.scale_factor %lld does not divide the %lld "
                          "patches per side of clip.vision.image_size",
                          static_cast<long long>(cfg.scale_factor),
                          static_cast<long long>(e.patches_per_side()));
    ACTORLM_TRY(load_vit(r, cfg, e.num_layers, /*legacy_names=*/false, w));
    const std::vector<int64_t> fc = r.shape_of("mm.model.fc.weight");
    output_dim = fc.size() == 2 ? fc[0] : 0;
    return r.linear("mm.model.fc", output_dim,
                    e.hidden_size * cfg.scale_factor * cfg.scale_factor, false, w.connector);
}

// Q, K and V of one block as the fused {3d, d} qkv the tower multiplies (rows q, k, v): bytes
// concatenated when the three share a dtype, float32 otherwise.
status fuse_qkv(const mmproj_reader& r, const std::string& b, int64_t d, vision_linear& out,
                vision_tower_weights& w) {
    std::vector<tensor> parts;
    std::vector<float> bias;
    for (const char* name : {"attn_q", "attn_k", "attn_v"}) {
        vision_linear l;
        ACTORLM_TRY(r.linear(b + name, d, d, true, l));
        parts.push_back(std::move(l.weight));
        bias.insert(bias.end(), l.bias.begin(), l.bias.end());
    }
    const bool same = parts[0].type == parts[1].type && parts[1].type == parts[2].type;
    std::vector<uint8_t> bytes;
    for (const tensor& t : parts) {
        if (same) {
            const auto* p = static_cast<const uint8_t*>(t.data);
            bytes.insert(bytes.end(), p, p + t.num_bytes);
        } else {
            auto f = tensor_to_f32(t);
            if (!f) return f.err();
            const auto* p = reinterpret_cast<const uint8_t*>(f->data());
            bytes.insert(bytes.end(), p, p + f->size() * sizeof(float));
        }
    }
    out.weight = owned_matrix(std::move(bytes), same ? parts[0].type : dtype::f32, {3 * d, d},
                              b + "attn_qkv", w);
    out.bias = std::move(bias);
    return status::success();
}

// Qwen2.5-VL ("qwen2.5vl_merger"). Blocks (il + 1) % n_wa_pattern == 0 attend over the whole
// image (clip.cpp's rule); the converter writes n_wa_pattern = fullatt_block_indexes[0] + 1
// after checking the indexes are evenly spaced, so this gives back the checkpoint's list.
status load_qwen2_5_vl(const mmproj_reader& r, vision_tower_config& cfg,
                       vision_tower_weights& w, int64_t& output_dim) {
    cfg.family = vision_family::qwen2_5_vl;
    cfg.model_type = "qwen2_5_vl";
    vision_encoder_config& e = cfg.encoder;
    const int64_t d = e.hidden_size, inter = e.intermediate_size, p = e.patch_size;
    if (!r.flag("clip.use_silu"))
        return make_error(error_kind::invalid_argument,
                          "a qwen2.5vl_merger mmproj must set clip.use_silu (the SwiGLU MLP)");
    auto pattern = r.size("clip.vision.n_wa_pattern");
    if (!pattern) return pattern.err();
    cfg.fullatt_block_indexes.clear();
    for (int64_t i = 0; i < e.num_layers; ++i)
        if ((i + 1) % *pattern == 0) cfg.fullatt_block_indexes.push_back(i);
    cfg.spatial_merge_size = r.size_or("clip.vision.spatial_merge_size", 2);
    cfg.window_size = r.size_or("clip.vision.window_size", 112);
    cfg.temporal_patch_size = 2;
    const int64_t m = cfg.spatial_merge_size;
    if (m <= 0 || cfg.window_size / m / p <= 0)
        return make_error(error_kind::invalid_argument,
                          "window size %lld is smaller than clip.vision.spatial_merge_size %lld x "
                          "clip.vision.patch_size %lld",
                          static_cast<long long>(cfg.window_size), static_cast<long long>(m),
                          static_cast<long long>(p));

    // The Conv3d weight {d, c, t, p, p} back from its two temporal slices {d, c, p, p}.
    const int64_t c = e.num_channels, t = cfg.temporal_patch_size;
    std::vector<std::vector<float>> slices;
    for (const char* name : {"v.patch_embd.weight", "v.patch_embd.weight.1"}) {
        auto s = r.vector(name, {d, c, p, p});
        if (!s) return s.err();
        slices.push_back(std::move(*s));
    }
    std::vector<uint8_t> conv(static_cast<size_t>(d * c * t * p * p) * sizeof(float));
    auto* dst = reinterpret_cast<float*>(conv.data());
    for (int64_t o = 0; o < d * c; ++o)
        for (int64_t k = 0; k < t; ++k)
            std::memcpy(dst + (o * t + k) * p * p, slices[k].data() + o * p * p,
                        static_cast<size_t>(p * p) * sizeof(float));
    w.patch_embedding.weight =
        owned_matrix(std::move(conv), dtype::f32, {d, c * t * p * p}, "v.patch_embd", w);

    w.qwen_blocks.resize(static_cast<size_t>(e.num_layers));
    for (int64_t i = 0; i < e.num_layers; ++i) {
        const std::string b = "v.blk." + std::to_string(i) + ".";
        qwen_block_weights& bw = w.qwen_blocks[static_cast<size_t>(i)];
        auto n1 = r.vector(b + "ln1.weight", {d});
        if (!n1) return n1.err();
        auto n2 = r.vector(b + "ln2.weight", {d});
        if (!n2) return n2.err();
        bw.norm1 = std::move(*n1);
        bw.norm2 = std::move(*n2);
        ACTORLM_TRY(fuse_qkv(r, b, d, bw.qkv, w));
        ACTORLM_TRY(r.linear(b + "attn_out", d, d, true, bw.proj));
        ACTORLM_TRY(r.linear(b + "ffn_gate", inter, d, true, bw.gate));
        ACTORLM_TRY(r.linear(b + "ffn_up", inter, d, true, bw.up));
        ACTORLM_TRY(r.linear(b + "ffn_down", d, inter, true, bw.down));
    }
    auto norm = r.vector("v.post_ln.weight", {d});
    if (!norm) return norm.err();
    w.merger_norm = std::move(*norm);
    const int64_t merged = d * m * m;
    ACTORLM_TRY(r.linear("mm.0", merged, merged, true, w.merger_1));
    const std::vector<int64_t> last = r.shape_of("mm.2.weight");
    output_dim = last.size() == 2 ? last[0] : 0;
    return r.linear("mm.2", output_dim, merged, true, w.merger_2);
}

result<std::shared_ptr<gguf_file>> open_mmproj(const std::string& path) {
    auto f = gguf_file::open(path);
    if (!f) return error{f.message(), error_kind::invalid_argument};
    const std::string arch = (*f)->get_string("general.architecture").value_or("");
    if (arch != "clip")
        return make_error(error_kind::invalid_argument,
                          "%s: not an mmproj file (general.architecture is '%s', not 'clip')",
                          path.c_str(), arch.c_str());
    return *f;
}

// clip.vision.image_mean / image_std of an open mmproj file.
result<mmproj_image_norm> read_image_norm(const gguf_file& f) {
    mmproj_image_norm out;
    for (auto [key, dst] : {std::pair{"clip.vision.image_mean", &out.mean},
                            std::pair{"clip.vision.image_std", &out.std}}) {
        const std::vector<float> v = f.get_float_array(key);
        if (v.size() != 3)
            return make_error(error_kind::invalid_argument,
                              "%s: key '%s' must be an array of 3 numbers", f.path().c_str(), key);
        std::copy(v.begin(), v.end(), dst->begin());
    }
    for (float x : out.std)
        if (!(x > 0))
            return make_error(error_kind::invalid_argument,
                              "%s: clip.vision.image_std must be positive", f.path().c_str());
    return out;
}

}  // namespace vision_mmproj_detail

result<vision_model> load_vision_model_from_mmproj(const std::string& path) {
    using namespace vision_mmproj_detail;
    auto file = open_mmproj(path);
    if (!file) return file.err();
    const mmproj_reader r(**file);
    auto fail = [&path](const error& e) { return error{path + ": " + e.message, e.kind}; };
    if (!r.flag("clip.has_vision_encoder"))
        return make_error(error_kind::invalid_argument,
                          "%s: the mmproj file has no vision encoder (clip.has_vision_encoder)",
                          path.c_str());
    const std::optional<std::string> type = r.file().get_string("clip.projector_type");
    if (!type)
        return make_error(error_kind::invalid_argument, "%s: missing key 'clip.projector_type'",
                          path.c_str());

    vision_model m;
    m.dir = path;
    vision_tower_config& cfg = m.config;
    if (status s = read_encoder(r, cfg.encoder); !s) return fail(s.err());
    // clip.use_gelu: llama.cpp's GELU. The legacy converter sets it only for hidden_act
    // "gelu" (erf); SigLIP's is gelu_pytorch_tanh. Neither flag: CLIP's quick_gelu.
    const bool gelu = r.flag("clip.use_gelu");
    status s;
    if (*type == "mlp") {
        cfg.encoder.hidden_act = gelu ? vision_activation::gelu_erf : vision_activation::quick_gelu;
        s = load_llava(r, cfg, m.weights, m.output_dim);
    } else if (*type == "idefics3") {
        cfg.encoder.hidden_act = gelu ? vision_activation::gelu_tanh
                                      : vision_activation::quick_gelu;
        s = load_idefics3(r, cfg, m.weights, m.output_dim);
    } else if (*type == "qwen2.5vl_merger") {
        s = load_qwen2_5_vl(r, cfg, m.weights, m.output_dim);
    } else {
        return make_error(error_kind::invalid_argument,
                          "%s: clip.projector_type '%s' is not supported (supported: mlp, "
                          "idefics3, qwen2.5vl_merger)",
                          path.c_str(), type->c_str());
    }
    if (!s) return fail(s.err());
    m.weights.storage.push_back((*file)->mapping());
    return m;
}

result<mmproj_image_norm> read_mmproj_image_norm(const std::string& path) {
    using namespace vision_mmproj_detail;
    auto file = open_mmproj(path);
    if (!file) return file.err();
    return read_image_norm(**file);
}

result<image_processor_config> read_mmproj_processor_config(const std::string& path,
                                                            const vision_model& tower) {
    using namespace vision_mmproj_detail;
    auto file = open_mmproj(path);
    if (!file) return file.err();
    auto norm = read_image_norm(**file);
    if (!norm) return norm.err();
    pixel_normalization n;
    for (int c = 0; c < 3; ++c) {
        n.mean[c] = norm->mean[c];
        n.std[c] = norm->std[c];
    }
    const vision_tower_config& t = tower.config;
    const int image_size = static_cast<int>(t.encoder.image_size);
    const int patch = static_cast<int>(t.encoder.patch_size);
    switch (t.family) {
        case vision_family::clip_llava: {
            clip_image_config c;
            c.shortest_edge = c.crop_height = c.crop_width = image_size;
            c.norm = n;
            c.patch_size = patch;
            c.num_additional_image_tokens = 1;  // the class token
            c.vision_feature_select_strategy = t.drop_class_token ? "default" : "full";
            return image_processor_config(c);
        }
        case vision_family::siglip_idefics3: {
            idefics3_image_config c;
            c.max_image_size = image_size;
            const int64_t preproc = (*file)->get_int("clip.vision.preproc_image_size").value_or(0);
            c.longest_edge = preproc > 0 ? static_cast<int>(std::min<int64_t>(preproc, INT32_MAX))
                                         : 4 * image_size;
            c.norm = n;
            const int64_t side = t.encoder.patches_per_side() / t.scale_factor;
            c.image_seq_len = static_cast<int>(side * side);
            return image_processor_config(c);
        }
        case vision_family::qwen2_5_vl: {
            qwen2_vl_image_config c;
            c.min_pixels = 3136;
            c.max_pixels = 12845056;
            c.norm = n;
            c.patch_size = patch;
            c.temporal_patch_size = static_cast<int>(t.temporal_patch_size);
            c.merge_size = static_cast<int>(t.spatial_merge_size);
            return image_processor_config(c);
        }
    }
    return make_error(error_kind::invalid_argument, "%s: no image processor for this tower",
                      path.c_str());
}

}  // namespace actorlm::multimodal

// vision_weights: safetensors shards -> vision_tower_weights. The name prefix of the tower and
// of the projector is found once (the first candidate whose patch embedding / first projector
// matrix exists), then every tensor is looked up under it with its shape checked against the
// config, so an error names the one tensor that is missing or wrong.
#include "multimodal/vision_weights.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "model/content_digest.hpp"
#include "model/safetensors_file.hpp"
#include "model/safetensors_shards.hpp"
#include "model/tensor_codec.hpp"
#include "multimodal/vision_tensor_reader.hpp"

namespace actorlm::multimodal {

namespace vision_weights_detail {

namespace fs = std::filesystem;

// Looks tensors up by name across the shards, checking dtype and shape.
class tensor_finder final : public vision_tensor_reader {
public:
    explicit tensor_finder(std::map<std::string, const safetensors_tensor_info*> by_name)
        : by_name_(std::move(by_name)) {}

    bool has(const std::string& name) const { return by_name_.count(name) != 0; }

    /// The leading dimension of `name` as stored (0 when absent or a scalar): a projector's
    /// output width is the language model's hidden size, which the tower's config omits.
    int64_t rows(const std::string& name) const {
        auto it = by_name_.find(name);
        return it == by_name_.end() || it->second->shape.empty() ? 0 : it->second->shape[0];
    }

    result<tensor> matrix(const std::string& name,
                          const std::vector<int64_t>& shape) const override {
        auto it = by_name_.find(name);
        if (it == by_name_.end())
            return make_error(error_kind::invalid_argument, "missing tensor '%s'", name.c_str());
        const safetensors_tensor_info& info = *it->second;
        tensor t;
        t.name = name;
        if (info.dtype == "F32") {
            t.type = dtype::f32;
        } else if (info.dtype == "F16") {
            t.type = dtype::f16;
        } else if (info.dtype == "BF16") {
            t.type = dtype::bf16;
        } else {
            return make_error(error_kind::invalid_argument,
                              "tensor '%s' has dtype %s (supported: F32, F16, BF16)",
                              name.c_str(), info.dtype.c_str());
        }
        if (info.shape != shape)
            return make_error(error_kind::invalid_argument,
                              "tensor '%s' has shape %s, the config needs %s", name.c_str(),
                              dims_text(info.shape).c_str(), dims_text(shape).c_str());
        t.shape = info.shape;
        t.data = info.data;
        t.num_bytes = info.num_bytes;
        return t;
    }

    // The first of `prefixes` under which `suffix` exists; an error naming the first form.
    result<std::string> prefix(const std::vector<std::string>& prefixes,
                               const std::string& suffix) const {
        for (const std::string& p : prefixes)
            if (has(p + suffix)) return p;
        std::string also;
        for (size_t i = 1; i < prefixes.size(); ++i) also += ", '" + prefixes[i] + suffix + "'";
        return make_error(error_kind::invalid_argument, "missing tensor '%s' (nor%s)",
                          (prefixes[0] + suffix).c_str(), also.c_str() + 1);
    }

private:
    std::map<std::string, const safetensors_tensor_info*> by_name_;
};

status load_encoder(const tensor_finder& f, const std::string& p, const vision_tower_config& cfg,
                    int64_t num_layers, vision_tower_weights& w) {
    const vision_encoder_config& e = cfg.encoder;
    const int64_t d = e.hidden_size;
    const bool clip = cfg.family == vision_family::clip_llava;
    auto patch = f.matrix(p + "embeddings.patch_embedding.weight",
                          {d, e.num_channels, e.patch_size, e.patch_size});
    if (!patch) return patch.err();
    w.patch_embedding.weight = std::move(*patch);
    w.patch_embedding.weight.shape = {d, e.num_channels * e.patch_size * e.patch_size};
    const int64_t num_patches = e.patches_per_side() * e.patches_per_side();
    if (clip) {
        auto cls = f.vector(p + "embeddings.class_embedding", {d});
        if (!cls) return cls.err();
        w.class_embedding = std::move(*cls);
        ACTORLM_TRY(f.norm(p + "pre_layrnorm", d, w.pre_norm));
    } else {
        auto bias = f.vector(p + "embeddings.patch_embedding.bias", {d});
        if (!bias) return bias.err();
        w.patch_embedding.bias = std::move(*bias);
        ACTORLM_TRY(f.norm(p + "post_layernorm", d, w.post_norm));
    }
    auto pos = f.vector(p + "embeddings.position_embedding.weight",
                        {num_patches + (clip ? 1 : 0), d});
    if (!pos) return pos.err();
    w.position_embedding = std::move(*pos);
    w.layers.resize(static_cast<size_t>(num_layers));
    for (int64_t i = 0; i < num_layers; ++i) {
        const std::string l = p + "encoder.layers." + std::to_string(i) + ".";
        vision_layer_weights& lw = w.layers[static_cast<size_t>(i)];
        ACTORLM_TRY(f.norm(l + "layer_norm1", d, lw.norm1));
        ACTORLM_TRY(f.norm(l + "layer_norm2", d, lw.norm2));
        ACTORLM_TRY(f.linear(l + "self_attn.q_proj", d, d, true, lw.q));
        ACTORLM_TRY(f.linear(l + "self_attn.k_proj", d, d, true, lw.k));
        ACTORLM_TRY(f.linear(l + "self_attn.v_proj", d, d, true, lw.v));
        ACTORLM_TRY(f.linear(l + "self_attn.out_proj", d, d, true, lw.out));
        ACTORLM_TRY(f.linear(l + "mlp.fc1", e.intermediate_size, d, true, lw.fc1));
        ACTORLM_TRY(f.linear(l + "mlp.fc2", d, e.intermediate_size, true, lw.fc2));
    }
    return status::success();
}

status load_qwen2_5_vl(const tensor_finder& f, const vision_tower_config& cfg,
                       vision_tower_weights& w, int64_t& output_dim) {
    const vision_encoder_config& e = cfg.encoder;
    const int64_t d = e.hidden_size, inter = e.intermediate_size;
    auto prefix = f.prefix({"visual.", "model.visual."}, "patch_embed.proj.weight");
    if (!prefix) return prefix.err();
    const std::string& p = *prefix;
    auto patch = f.matrix(p + "patch_embed.proj.weight", {d, e.num_channels,
                                                          cfg.temporal_patch_size, e.patch_size,
                                                          e.patch_size});
    if (!patch) return patch.err();
    w.patch_embedding.weight = std::move(*patch);
    w.patch_embedding.weight.shape = {
        d, e.num_channels * cfg.temporal_patch_size * e.patch_size * e.patch_size};
    w.qwen_blocks.resize(static_cast<size_t>(e.num_layers));
    for (int64_t i = 0; i < e.num_layers; ++i) {
        const std::string b = p + "blocks." + std::to_string(i) + ".";
        qwen_block_weights& bw = w.qwen_blocks[static_cast<size_t>(i)];
        auto n1 = f.vector(b + "norm1.weight", {d});
        if (!n1) return n1.err();
        auto n2 = f.vector(b + "norm2.weight", {d});
        if (!n2) return n2.err();
        bw.norm1 = std::move(*n1);
        bw.norm2 = std::move(*n2);
        ACTORLM_TRY(f.linear(b + "attn.qkv", 3 * d, d, true, bw.qkv));
        ACTORLM_TRY(f.linear(b + "attn.proj", d, d, true, bw.proj));
        ACTORLM_TRY(f.linear(b + "mlp.gate_proj", inter, d, true, bw.gate));
        ACTORLM_TRY(f.linear(b + "mlp.up_proj", inter, d, true, bw.up));
        ACTORLM_TRY(f.linear(b + "mlp.down_proj", d, inter, true, bw.down));
    }
    const int64_t merged = d * cfg.spatial_merge_size * cfg.spatial_merge_size;
    auto norm = f.vector(p + "merger.ln_q.weight", {d});
    if (!norm) return norm.err();
    w.merger_norm = std::move(*norm);
    ACTORLM_TRY(f.linear(p + "merger.mlp.0", merged, merged, true, w.merger_1));
    output_dim = f.rows(p + "merger.mlp.2.weight");
    return f.linear(p + "merger.mlp.2", output_dim, merged, true, w.merger_2);
}

}  // namespace vision_weights_detail

result<vision_model> load_vision_model(const std::string& dir) {
    using namespace vision_weights_detail;
    auto config = read_vision_tower_config(dir);
    if (!config) return config.err();
    auto files = safetensors_shard_files(dir);
    if (!files) return files.err();
    vision_model m;
    m.dir = dir;
    m.config = std::move(*config);
    std::vector<std::shared_ptr<safetensors_file>> shards;
    std::map<std::string, const safetensors_tensor_info*> by_name;
    for (const std::string& name : *files) {
        auto f = safetensors_file::open((fs::path(dir) / name).string());
        if (!f) return error{f.message(), error_kind::invalid_argument};
        for (const safetensors_tensor_info& t : (*f)->tensors()) by_name.emplace(t.name, &t);
        shards.push_back(std::move(*f));
    }
    const tensor_finder f(std::move(by_name));
    const vision_tower_config& cfg = m.config;
    const int64_t d = cfg.encoder.hidden_size;
    vision_tower_weights& w = m.weights;
    auto fail = [&dir](const status& s) { return error{dir + ": " + s.message(), s.kind()}; };

    if (cfg.family == vision_family::clip_llava) {
        auto tower = f.prefix({"vision_tower.", "vision_tower.vision_model.", "model.vision_tower.",
                               "model.vision_tower.vision_model."},
                              "embeddings.patch_embedding.weight");
        if (!tower) return fail(tower.err());
        int64_t num_layers = 0;
        for (int64_t k : cfg.feature_layers) num_layers = std::max(num_layers, k);
        if (status s = load_encoder(f, *tower, cfg, num_layers, w); !s) return fail(s);
        auto proj = f.prefix({"multi_modal_projector.", "model.multi_modal_projector."},
                             "linear_1.weight");
        if (!proj) return fail(proj.err());
        const int64_t text_hidden = f.rows(*proj + "linear_1.weight");
        const int64_t in = d * static_cast<int64_t>(cfg.feature_layers.size());
        if (status s = f.linear(*proj + "linear_1", text_hidden, in, cfg.projector_bias,
                                w.projector_1);
            !s)
            return fail(s);
        if (status s = f.linear(*proj + "linear_2", text_hidden, text_hidden, cfg.projector_bias,
                                w.projector_2);
            !s)
            return fail(s);
        m.output_dim = text_hidden;
    } else if (cfg.family == vision_family::qwen2_5_vl) {
        if (status s = load_qwen2_5_vl(f, cfg, w, m.output_dim); !s) return fail(s);
    } else {
        auto tower = f.prefix({"model.vision_model.", "vision_model."},
                              "embeddings.patch_embedding.weight");
        if (!tower) return fail(tower.err());
        if (status s = load_encoder(f, *tower, cfg, cfg.encoder.num_layers, w); !s) return fail(s);
        auto conn = f.prefix({"model.connector.", "connector."}, "modality_projection.proj.weight");
        if (!conn) return fail(conn.err());
        const int64_t text_hidden = f.rows(*conn + "modality_projection.proj.weight");
        const int64_t in = d * cfg.scale_factor * cfg.scale_factor;
        if (status s = f.linear(*conn + "modality_projection.proj", text_hidden, in, false,
                                w.connector);
            !s)
            return fail(s);
        m.output_dim = text_hidden;
    }
    for (const auto& s : shards) w.storage.push_back(s->mapping());
    return m;
}

std::string vision_model_fingerprint(const vision_model& m) {
    content_digest d;
    const vision_tower_config& c = m.config;
    const vision_encoder_config& e = c.encoder;
    d.str(c.model_type);
    for (int64_t v : {static_cast<int64_t>(c.family), e.hidden_size, e.intermediate_size,
                      e.num_layers, e.num_heads, e.num_channels, e.image_size, e.patch_size,
                      static_cast<int64_t>(e.hidden_act), static_cast<int64_t>(c.drop_class_token),
                      static_cast<int64_t>(c.projector_act), static_cast<int64_t>(c.projector_bias),
                      c.scale_factor, c.spatial_merge_size, c.temporal_patch_size, c.window_size,
                      m.output_dim})
        d.i64(v);
    d.f64(e.layer_norm_eps);
    for (int64_t v : c.feature_layers) d.i64(v);
    d.str("|");
    for (int64_t v : c.fullatt_block_indexes) d.i64(v);

    const vision_tower_weights& w = m.weights;
    auto linear = [&d](const vision_linear& l) {
        d.tensor_sample(l.weight);
        d.floats(l.bias.data(), l.bias.size());
    };
    auto vec = [&d](const std::vector<float>& v) { d.floats(v.data(), v.size()); };
    auto norm = [&vec](const vision_norm& n) {
        vec(n.weight);
        vec(n.bias);
    };
    linear(w.patch_embedding);
    vec(w.class_embedding);
    vec(w.position_embedding);
    norm(w.pre_norm);
    norm(w.post_norm);
    for (const vision_layer_weights& l : w.layers) {
        norm(l.norm1);
        norm(l.norm2);
        for (const vision_linear* x : {&l.q, &l.k, &l.v, &l.out, &l.fc1, &l.fc2}) linear(*x);
    }
    for (const vision_linear* x : {&w.projector_1, &w.projector_2, &w.connector}) linear(*x);
    for (const qwen_block_weights& b : w.qwen_blocks) {
        vec(b.norm1);
        vec(b.norm2);
        for (const vision_linear* x : {&b.qkv, &b.proj, &b.gate, &b.up, &b.down}) linear(*x);
    }
    vec(w.merger_norm);
    linear(w.merger_1);
    linear(w.merger_2);
    return d.hex();
}

}  // namespace actorlm::multimodal

// vision_config: config.json -> vision_tower_config. Absent keys take the defaults of the
// transformers classes: LlavaConfig (its CLIP vision_config default when vision_config is
// absent, CLIPVisionConfig's for keys a given vision_config omits), Idefics3Config /
// SmolVLMConfig with Idefics3VisionConfig / SmolVLMVisionConfig, Qwen2_5_VLVisionConfig.
#include "multimodal/vision_config.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <simdjson.h>

namespace actorlm::multimodal {

// Named rather than anonymous: unity batches join this file with its neighbours.
namespace vision_config_json {

using simdjson::dom::element;
using simdjson::dom::object;

error bad(const std::string& key, const char* what) {
    return make_error(error_kind::invalid_argument, "config.json: '%s' %s", key.c_str(), what);
}

bool find(object o, const char* key, element& e) {
    return o[key].get(e) == simdjson::SUCCESS && !e.is_null();
}

result<int64_t> positive(object o, const std::string& prefix, const char* key, int64_t fallback) {
    element e;
    if (!find(o, key, e)) return fallback;
    int64_t v = 0;
    if (e.get(v) || v <= 0) return bad(prefix + key, "must be a positive integer");
    return v;
}

// vision_config.`key` into `field` when present (positive), else `field` keeps its default.
status read_positive(object o, const char* key, int64_t& field) {
    auto v = positive(o, "vision_config.", key, field);
    if (!v) return v.err();
    field = *v;
    return status::success();
}

result<double> number(object o, const std::string& prefix, const char* key, double fallback) {
    element e;
    if (!find(o, key, e)) return fallback;
    double v = 0;
    if (e.get(v) || !(v >= 0)) return bad(prefix + key, "must be a non-negative number");
    return v;
}

result<std::string> text(object o, const std::string& prefix, const char* key,
                         const char* fallback) {
    element e;
    if (!find(o, key, e)) return std::string(fallback);
    std::string_view v;
    if (e.get(v)) return bad(prefix + key, "must be a string");
    return std::string(v);
}

// The encoder fields of a vision_config object over the class defaults in `cfg`.
status read_encoder(object o, vision_encoder_config& cfg) {
    const std::string p = "vision_config.";
    ACTORLM_TRY(read_positive(o, "hidden_size", cfg.hidden_size));
    ACTORLM_TRY(read_positive(o, "intermediate_size", cfg.intermediate_size));
    ACTORLM_TRY(read_positive(o, "num_hidden_layers", cfg.num_layers));
    ACTORLM_TRY(read_positive(o, "num_attention_heads", cfg.num_heads));
    ACTORLM_TRY(read_positive(o, "num_channels", cfg.num_channels));
    ACTORLM_TRY(read_positive(o, "image_size", cfg.image_size));
    ACTORLM_TRY(read_positive(o, "patch_size", cfg.patch_size));
    auto eps = number(o, p, "layer_norm_eps", cfg.layer_norm_eps);
    if (!eps) return eps.err();
    cfg.layer_norm_eps = *eps;
    std::string default_act =
        cfg.hidden_act == vision_activation::quick_gelu ? "quick_gelu" : "gelu_pytorch_tanh";
    auto act_name = text(o, p, "hidden_act", default_act.c_str());
    if (!act_name) return act_name.err();
    auto act = parse_vision_activation(*act_name, "vision_config.hidden_act");
    if (!act) return act.err();
    cfg.hidden_act = *act;
    return check_encoder_sizes(cfg, "config.json: vision_config.hidden_size",
                               "num_attention_heads", "config.json: vision_config.image_size",
                               "patch_size");
}

// vision_config as an object (absent: `present` false), checking its model_type.
result<bool> vision_object(object root, const char* expected_type, const char* alt_type,
                           object& out) {
    element e;
    if (!find(root, "vision_config", e)) return false;
    if (e.get(out)) return bad("vision_config", "must be an object");
    element t;
    if (find(out, "model_type", t)) {
        std::string_view type;
        if (t.get(type)) return bad("vision_config.model_type", "must be a string");
        if (type != expected_type && (alt_type == nullptr || type != alt_type))
            return make_error(error_kind::invalid_argument,
                              "config.json: vision_config.model_type '%.*s' is not supported "
                              "here (expected '%s')",
                              int(type.size()), type.data(), expected_type);
    }
    return true;
}

result<vision_tower_config> parse_llava(object root) {
    vision_tower_config cfg;
    cfg.family = vision_family::clip_llava;
    vision_encoder_config& enc = cfg.encoder;
    object vision;
    auto has_vision = vision_object(root, "clip_vision_model", nullptr, vision);
    if (!has_vision) return has_vision.err();
    if (*has_vision) {  // CLIPVisionConfig's defaults
        enc = {768, 3072, 12, 12, 3, 224, 32, 1e-5, vision_activation::quick_gelu};
        ACTORLM_TRY(read_encoder(vision, enc));
    } else {  // LlavaConfig's default tower (llava-1.5's CLIP ViT-L/14-336)
        enc = {1024, 4096, 24, 16, 3, 336, 14, 1e-5, vision_activation::quick_gelu};
    }

    // vision_feature_layer: an integer or a list of integers, negative from the end of
    // hidden_states (num_layers + 1 entries).
    const int64_t num_states = enc.num_layers + 1;
    std::vector<int64_t> layers;
    element e;
    if (!find(root, "vision_feature_layer", e)) {
        layers.push_back(-2);
    } else if (int64_t v = 0; !e.get(v)) {
        layers.push_back(v);
    } else {
        simdjson::dom::array arr;
        if (e.get(arr)) return bad("vision_feature_layer", "must be an integer or a list");
        for (element x : arr) {
            if (x.get(v)) return bad("vision_feature_layer", "must hold integers");
            layers.push_back(v);
        }
        if (layers.empty()) return bad("vision_feature_layer", "must not be empty");
    }
    for (int64_t v : layers) {
        const int64_t k = v < 0 ? v + num_states : v;
        if (k < 0 || k >= num_states)
            return make_error(error_kind::invalid_argument,
                              "config.json: vision_feature_layer %lld is out of range for %lld "
                              "encoder layers",
                              static_cast<long long>(v), static_cast<long long>(enc.num_layers));
        cfg.feature_layers.push_back(k);
    }

    auto strategy = text(root, "", "vision_feature_select_strategy", "default");
    if (!strategy) return strategy.err();
    if (*strategy != "default" && *strategy != "full")
        return bad("vision_feature_select_strategy", "must be \"default\" or \"full\"");
    cfg.drop_class_token = *strategy == "default";

    auto act_name = text(root, "", "projector_hidden_act", "gelu");
    if (!act_name) return act_name.err();
    auto act = parse_vision_activation(*act_name, "projector_hidden_act");
    if (!act) return act.err();
    cfg.projector_act = *act;
    if (find(root, "multimodal_projector_bias", e)) {
        bool b = true;
        if (e.get(b)) return bad("multimodal_projector_bias", "must be true or false");
        cfg.projector_bias = b;
    }
    return cfg;
}

result<vision_tower_config> parse_idefics3(object root, std::string_view model_type) {
    vision_tower_config cfg;
    cfg.family = vision_family::siglip_idefics3;
    cfg.encoder = {1152, 3072, 12, 16, 3, 224, 32, 1e-6, vision_activation::gelu_tanh};
    const bool smol = model_type == "smolvlm";
    object vision;
    auto has_vision = vision_object(root, smol ? "smolvlm_vision" : "idefics3_vision",
                                    smol ? "idefics3_vision" : nullptr, vision);
    if (!has_vision) return has_vision.err();
    if (*has_vision) ACTORLM_TRY(read_encoder(vision, cfg.encoder));
    auto scale = positive(root, "", "scale_factor", 2);
    if (!scale) return scale.err();
    cfg.scale_factor = *scale;
    if (cfg.encoder.patches_per_side() % cfg.scale_factor != 0)
        return make_error(error_kind::invalid_argument,
                          "config.json: scale_factor %lld does not divide the %lld patches per "
                          "side of vision_config.image_size",
                          static_cast<long long>(cfg.scale_factor),
                          static_cast<long long>(cfg.encoder.patches_per_side()));
    return cfg;
}

result<vision_tower_config> parse_qwen2_5_vl(object root) {
    vision_tower_config cfg;
    cfg.family = vision_family::qwen2_5_vl;
    vision_encoder_config& e = cfg.encoder;
    e = {3584, 3420, 32, 16, 3, 0, 14, 1e-6, vision_activation::gelu_erf};
    cfg.fullatt_block_indexes = {7, 15, 23, 31};
    cfg.window_size = 112;
    object o;
    auto has_vision = vision_object(root, "qwen2_5_vl_vision", nullptr, o);
    if (!has_vision) return has_vision.err();
    if (*has_vision) {
        const std::string p = "vision_config.";
            ACTORLM_TRY(read_positive(o, "hidden_size", e.hidden_size));
        ACTORLM_TRY(read_positive(o, "intermediate_size", e.intermediate_size));
        ACTORLM_TRY(read_positive(o, "depth", e.num_layers));
        ACTORLM_TRY(read_positive(o, "num_heads", e.num_heads));
        ACTORLM_TRY(read_positive(o, "in_channels", e.num_channels));
        ACTORLM_TRY(read_positive(o, "patch_size", e.patch_size));
        ACTORLM_TRY(read_positive(o, "spatial_merge_size", cfg.spatial_merge_size));
        ACTORLM_TRY(read_positive(o, "temporal_patch_size", cfg.temporal_patch_size));
        ACTORLM_TRY(read_positive(o, "window_size", cfg.window_size));
        auto act = text(o, p, "hidden_act", "silu");
        if (!act) return act.err();
        if (*act != "silu")
            return make_error(error_kind::invalid_argument,
                              "config.json: 'vision_config.hidden_act' is '%s'; Qwen2.5-VL's "
                              "vision MLP is supported with silu only",
                              act->c_str());
        element e_idx;
        if (find(o, "fullatt_block_indexes", e_idx)) {
            simdjson::dom::array arr;
            if (e_idx.get(arr))
                return bad("vision_config.fullatt_block_indexes", "must be a list of integers");
            cfg.fullatt_block_indexes.clear();
            for (element x : arr) {
                int64_t v = 0;
                if (x.get(v) || v < 0)
                    return bad("vision_config.fullatt_block_indexes",
                               "must hold non-negative integers");
                cfg.fullatt_block_indexes.push_back(v);
            }
        }
    }
    if (e.hidden_size % e.num_heads != 0 || e.head_dim() % 4 != 0)
        return make_error(error_kind::invalid_argument,
                          "config.json: vision_config.hidden_size %lld over num_heads %lld must "
                          "give a head size that is a multiple of 4 (2-D rotary)",
                          static_cast<long long>(e.hidden_size),
                          static_cast<long long>(e.num_heads));
    if (cfg.window_size / cfg.spatial_merge_size / e.patch_size == 0)
        return make_error(error_kind::invalid_argument,
                          "config.json: vision_config.window_size %lld is smaller than "
                          "spatial_merge_size x patch_size",
                          static_cast<long long>(cfg.window_size));
    return cfg;
}

}  // namespace vision_config_json

status check_encoder_sizes(const vision_encoder_config& e, const char* hidden_key,
                           const char* heads_key, const char* image_key, const char* patch_key) {
    if (e.hidden_size % e.num_heads != 0)
        return make_error(error_kind::invalid_argument, "%s %lld is not a multiple of %s %lld",
                          hidden_key, static_cast<long long>(e.hidden_size), heads_key,
                          static_cast<long long>(e.num_heads));
    if (e.image_size % e.patch_size != 0)
        return make_error(error_kind::invalid_argument, "%s %lld is not a multiple of %s %lld",
                          image_key, static_cast<long long>(e.image_size), patch_key,
                          static_cast<long long>(e.patch_size));
    return status::success();
}

result<vision_activation> parse_vision_activation(std::string_view name, const char* key) {
    if (name == "gelu") return vision_activation::gelu_erf;
    if (name == "gelu_pytorch_tanh" || name == "gelu_new" || name == "gelu_fast")
        return vision_activation::gelu_tanh;
    if (name == "quick_gelu") return vision_activation::quick_gelu;
    return make_error(error_kind::invalid_argument,
                      "config.json: '%s' is '%.*s', which is not supported (supported: gelu, "
                      "gelu_pytorch_tanh, gelu_new, gelu_fast, quick_gelu)",
                      key, int(name.size()), name.data());
}

result<vision_tower_config> parse_vision_tower_config(std::string_view config_json) {
    using namespace vision_config_json;
    simdjson::dom::parser parser;
    object root;
    if (parser.parse(config_json.data(), config_json.size(), true).get(root))
        return make_error(error_kind::invalid_argument, "config.json: not a JSON object");
    auto type = text(root, "", "model_type", "");
    if (!type) return type.err();
    result<vision_tower_config> cfg = make_error("unreachable");
    if (*type == "llava") {
        cfg = parse_llava(root);
    } else if (*type == "idefics3" || *type == "smolvlm") {
        cfg = parse_idefics3(root, *type);
    } else if (*type == "qwen2_5_vl") {
        cfg = parse_qwen2_5_vl(root);
    } else {
        return make_error(error_kind::invalid_argument,
                          "config.json: model_type '%s' has no vision tower actorlm runs "
                          "(supported: llava, idefics3, smolvlm, qwen2_5_vl)",
                          type->c_str());
    }
    if (cfg) cfg->model_type = *type;
    return cfg;
}

result<vision_tower_config> read_vision_tower_config(const std::string& dir) {
    const std::filesystem::path path = std::filesystem::path(dir) / "config.json";
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return make_error(error_kind::invalid_argument, "%s: cannot open",
                          path.string().c_str());
    std::ostringstream text;
    text << in.rdbuf();
    auto cfg = parse_vision_tower_config(text.str());
    if (!cfg) return error{dir + ": " + cfg.message(), cfg.kind()};
    return cfg;
}

}  // namespace actorlm::multimodal

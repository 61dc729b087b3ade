// config.json -> model_config; model_type picks the architecture table's entry (recipe,
// window keys). Defaults follow transformers' LlamaConfig / Qwen2Config / Qwen3Config
// where a key is optional (num_key_value_heads, head_dim, rope_theta, rms_norm_eps,
// tie_word_embeddings). RoPE is read from
// transformers 4's layout (rope_theta + rope_scaling) and 5's (rope_parameters,
// flat or keyed by layer type); the sliding window as each config class sets it. A
// qwen2_5_vl checkpoint loads as its Qwen2 text model with M-RoPE (mrope_section). A
// BERT directory's pooling comes from its sentence-transformers modules. Gemma 2 / 3 add
// their keys (Gemma2Config / Gemma3TextConfig defaults), a local/global layer pattern and,
// for Gemma 3, the local layers' own RoPE (model_config::sliding_rope_theta).
#include "model/hf_config.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include <simdjson.h>

#include "base/text_file.hpp"
#include "model/architecture.hpp"
#include "model/sentence_transformers_pooling.hpp"

namespace actorlm {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

bool is_null(object o, const char* key) {
    element e;
    return o[key].get(e) != simdjson::SUCCESS || e.is_null();
}

result<int64_t> get_int(object o, const char* key) {
    element e;
    if (o[key].get(e) || e.is_null()) return make_error("config.json: missing '%s'", key);
    int64_t v = 0;
    if (e.get(v) || v < 0) {
        uint64_t u = 0;
        if (e.get(u) || u > static_cast<uint64_t>(INT64_MAX))
            return make_error("config.json: '%s' must be a non-negative integer", key);
        v = static_cast<int64_t>(u);
    }
    return v;
}

result<double> get_number(object o, const char* key, double fallback) {
    element e;
    if (o[key].get(e) || e.is_null()) return fallback;
    double v = 0;
    if (e.get(v)) return make_error("config.json: '%s' must be a number", key);
    return v;
}

result<bool> get_flag(object o, const char* key, bool fallback) {
    element e;
    if (o[key].get(e) || e.is_null()) return fallback;
    bool v = false;
    if (e.get(v)) return make_error("config.json: '%s' must be true or false", key);
    return v;
}

// eos_token_id / bos_token_id may be an integer or a list of integers.
status add_ids(object o, const char* key, const char* file, std::vector<int32_t>& out) {
    element e;
    if (o[key].get(e) || e.is_null()) return status::success();
    int64_t v = 0;
    if (!e.get(v)) {
        if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(int32_t(v));
        return status::success();
    }
    simdjson::dom::array arr;
    if (e.get(arr)) return make_error("%s: '%s' must be an integer or a list", file, key);
    for (element x : arr) {
        if (x.get(v)) return make_error("%s: '%s' must hold integers", file, key);
        if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(int32_t(v));
    }
    return status::success();
}

// One RoPE parameter set: transformers 4's `rope_scaling` object or one transformers 5
// `rope_parameters` entry. Fields a set does not name keep the caller's values.
struct rope_settings {
    float theta = 10000.0f;
    rope_scaling scaling;
    std::vector<int32_t> mrope_section;  // Qwen2-VL / Qwen2.5-VL; empty elsewhere

    bool operator==(const rope_settings& o) const {
        return theta == o.theta && mrope_section == o.mrope_section &&
               scaling.type == o.scaling.type &&
               scaling.factor == o.scaling.factor &&
               scaling.low_freq_factor == o.scaling.low_freq_factor &&
               scaling.high_freq_factor == o.scaling.high_freq_factor &&
               scaling.original_max_position == o.scaling.original_max_position;
    }
};

// Reads one set named `where` (for messages). transformers 5 fills a missing rope_type
// with "default" and a missing llama3 original_max_position_embeddings with
// max_position_embeddings (RotaryEmbeddingConfigMixin.standardize_rope_params);
// transformers 4's rope_scaling always names its type, so there a missing type is refused.
// Qwen2-VL's transformers 4 configs write {"type": "mrope", "mrope_section": [...]}, which
// their config class turns into "default"; mrope_section is kept for any type.
result<rope_settings> parse_rope_set(object rs, const std::string& where, rope_settings base,
                                     bool type_required, int64_t max_position) {
    const char* w = where.c_str();
    std::string_view type = "default";
    if (rs["rope_type"].get(type) && rs["type"].get(type) && type_required)
        return make_error("config.json: %s has no 'rope_type'", w);
    if (type == "mrope") type = "default";
    base.mrope_section.clear();
    if (!is_null(rs, "mrope_section")) {
        simdjson::dom::array arr;
        if (rs["mrope_section"].get(arr))
            return make_error("config.json: %s mrope_section must be a list of integers", w);
        for (element e : arr) {
            int64_t v = 0;
            if (e.get(v) || v < 0 || v > INT32_MAX)
                return make_error(
                    "config.json: %s mrope_section must hold non-negative integers", w);
            base.mrope_section.push_back(int32_t(v));
        }
    }
    auto theta = get_number(rs, "rope_theta", base.theta);
    if (!theta) return theta.err();
    if (!(*theta > 0)) return make_error("config.json: %s rope_theta must be > 0", w);
    base.theta = float(*theta);
    auto partial = get_number(rs, "partial_rotary_factor", 1.0);
    if (!partial) return partial.err();
    if (*partial != 1.0)
        return make_error(
            "config.json: %s partial_rotary_factor %g is not supported (RoPE over "
            "the whole head only)",
            w, *partial);
    rope_scaling& sc = base.scaling;
    sc = rope_scaling{};
    if (type == "default") return base;
    auto factor = get_number(rs, "factor", 1.0);
    if (!factor) return factor.err();
    if (!(*factor > 0)) return make_error("config.json: %s factor must be > 0", w);
    sc.factor = float(*factor);
    if (type == "linear") {
        sc.type = rope_scaling_type::linear;
    } else if (type == "llama3") {
        sc.type = rope_scaling_type::llama3;
        auto lo = get_number(rs, "low_freq_factor", 1.0);
        auto hi = get_number(rs, "high_freq_factor", 4.0);
        auto orig = get_number(rs, "original_max_position_embeddings", double(max_position));
        if (!lo || !hi || !orig || !(*orig > 0) || !(*hi > *lo))
            return make_error("config.json: bad llama3 %s", w);
        sc.low_freq_factor = float(*lo);
        sc.high_freq_factor = float(*hi);
        sc.original_max_position = int64_t(*orig);
    } else {
        return make_error(
            "config.json: %s type '%.*s' is not supported (supported: default, "
            "linear, llama3)",
            w, int(type.size()), type.data());
    }
    return base;
}

// transformers' attention layer types; the only two our kernels run.
constexpr const char* k_full = "full_attention";
constexpr const char* k_sliding = "sliding_attention";

// Per layer: does it use the sliding window? From `layer_types` when present (transformers
// >= 4.53 and 5 write it), else derived as the model's config class does: Mistral slides
// every layer when sliding_window is set; Qwen2/Qwen3 only with use_sliding_window, and then
// the layers from max_window_layers on. Llama has no window (transformers ignores the key).
result<std::vector<bool>> parse_layer_types(object o, const hf_model_type& type, int64_t num_layers,
                                            bool has_window) {
    const hf_window_keys keys = type.window_keys;
    std::vector<bool> sliding(static_cast<size_t>(num_layers), false);
    if (!is_null(o, "layer_types")) {
        simdjson::dom::array arr;
        if (o["layer_types"].get(arr) || int64_t(arr.size()) != num_layers)
            return make_error("config.json: 'layer_types' must be a list of %lld strings",
                              (long long)num_layers);
        size_t i = 0;
        for (element e : arr) {
            std::string_view t;
            if (e.get(t)) return make_error("config.json: 'layer_types' must hold strings");
            if (t == k_sliding) {
                sliding[i] = true;
            } else if (t != k_full) {
                return make_error(
                    "config.json: layer type '%.*s' (layer %zu) is not supported "
                    "(supported: full_attention, sliding_attention)",
                    int(t.size()), t.data(), i);
            }
            ++i;
        }
        return sliding;
    }
    if (!has_window) return sliding;
    if (keys == hf_window_keys::plain) {
        sliding.assign(sliding.size(), true);
    } else if (keys == hf_window_keys::pattern) {
        // Gemma2Config / Gemma3TextConfig: layer l is global when (l + 1) % pattern == 0.
        auto pattern = get_number(o, "sliding_window_pattern", double(type.sliding_pattern));
        if (!pattern) return pattern.err();
        if (!(*pattern >= 1) || *pattern != std::floor(*pattern) || *pattern > 1e9)
            return make_error("config.json: sliding_window_pattern must be a positive integer");
        const auto n = static_cast<int64_t>(*pattern);
        for (int64_t l = 0; l < num_layers; ++l) sliding[size_t(l)] = (l + 1) % n != 0;
    } else if (keys == hf_window_keys::qwen) {
        auto first = get_number(o, "max_window_layers", 28.0);
        if (!first) return first.err();
        for (int64_t l = 0; l < num_layers; ++l) sliding[size_t(l)] = double(l) >= *first;
    }
    return sliding;
}

// sliding_window + use_sliding_window + max_window_layers / layer_types -> the config's
// window. Qwen2/Qwen3 configs carry a sliding_window value even when use_sliding_window is
// false; then there is no window (their config classes set it to None).
status parse_sliding_window(object o, const hf_model_type& type, model_config& c) {
    const hf_window_keys keys = type.window_keys;
    int64_t window = 0;
    const bool qwen = keys == hf_window_keys::qwen;
    auto use = get_flag(o, "use_sliding_window", false);
    if (!use) return use.err();
    if (keys != hf_window_keys::none && !is_null(o, "sliding_window") && (!qwen || *use)) {
        auto v = get_int(o, "sliding_window");
        if (!v) return v.err();
        if (*v <= 0 || *v > INT32_MAX)
            return make_error("config.json: sliding_window %lld must be in [1, 2^31)",
                              (long long)*v);
        window = *v;
    }
    auto sliding = parse_layer_types(o, type, c.num_layers, window > 0);
    if (!sliding) return sliding.err();
    const auto n = std::count(sliding->begin(), sliding->end(), true);
    if (window == 0 || n == 0) return status::success();  // sliding layers without a window: full
    c.sliding_window = int32_t(window);
    if (n != c.num_layers) c.sliding_layers = std::move(*sliding);
    return status::success();
}

// The RoPE settings, from either layout:
//  transformers 4: top-level rope_theta + rope_scaling {rope_type|type, factor, ...};
//  transformers 5: rope_parameters {rope_type, rope_theta, factor, ...}, or keyed by layer
//  type ({"full_attention": {...}, "sliding_attention": {...}}) for models whose layers differ.
// Every layer type the model uses must have an entry, and (one RoPE table per model) the
// entries in use must agree. A config carrying both layouts must say the same in both.
status parse_rope(object o, bool sliding_rope_ok, model_config& c) {
    rope_settings base;
    auto theta = get_number(o, "rope_theta", 10000.0);
    if (!theta) return theta.err();
    if (!(*theta > 0)) return make_error("config.json: rope_theta must be > 0");
    base.theta = float(*theta);
    std::optional<rope_settings> v4, v5, sliding;
    bool keyed = false;  // rope_parameters by layer type: it names the sliding layers' RoPE
    if (!is_null(o, "rope_scaling")) {
        object rs;
        if (o["rope_scaling"].get(rs))
            return make_error("config.json: 'rope_scaling' must be an object");
        auto r = parse_rope_set(rs, "rope_scaling", base, true, c.max_position);
        if (!r) return r.err();
        v4 = *r;
    }
    if (!is_null(o, "rope_parameters")) {
        object rp;
        if (o["rope_parameters"].get(rp))
            return make_error("config.json: 'rope_parameters' must be an object");
        bool per_type = rp.size() > 0;
        for (auto field : rp) per_type = per_type && field.value.is_object();
        keyed = per_type;
        if (!per_type) {
            auto r = parse_rope_set(rp, "rope_parameters", base, false, c.max_position);
            if (!r) return r.err();
            v5 = *r;
        } else {
            bool uses_full = false, uses_sliding = c.sliding_window > 0;
            for (int64_t l = 0; l < c.num_layers; ++l)
                uses_full = uses_full || layer_attention_window(c, l) == 0;
            for (auto field : rp) {
                const std::string key(field.key);
                if (key != k_full && key != k_sliding)
                    return make_error(
                        "config.json: rope_parameters for layer type '%s' are not "
                        "supported (supported: full_attention, sliding_attention)",
                        key.c_str());
                if (!(key == k_full ? uses_full : uses_sliding)) continue;
                object entry;
                if (field.value.get(entry))
                    return make_error("config.json: rope_parameters.%s must be an object",
                                      key.c_str());
                auto r =
                    parse_rope_set(entry, "rope_parameters." + key, base, false, c.max_position);
                if (!r) return r.err();
                (key == k_full ? v5 : sliding) = *r;
            }
            if (!v5) {  // every layer slides: the sliding entry is the model's one RoPE
                v5 = sliding;
                sliding.reset();
            }
            for (auto [used, key] : {std::pair{uses_full, k_full}, {uses_sliding, k_sliding}}) {
                object entry;
                if (used && rp[key].get(entry))
                    return make_error(
                        "config.json: rope_parameters has no '%s' entry for the "
                        "model's %s layers",
                        key, key);
            }
        }
    }
    if (v4 && v5 && !(*v4 == *v5))
        return make_error("config.json: rope_scaling and rope_parameters disagree");
    const rope_settings& r = v5 ? *v5 : v4 ? *v4 : base;
    // transformers 4's Gemma 3: the local layers turn with rope_local_base_freq (default
    // 10000), unscaled; rope_theta and rope_scaling are the global layers'.
    if (sliding_rope_ok && !keyed && c.sliding_window > 0) {
        auto local = get_number(o, "rope_local_base_freq", 10000.0);
        if (!local) return local.err();
        if (!(*local > 0)) return make_error("config.json: rope_local_base_freq must be > 0");
        sliding = rope_settings{};
        sliding->theta = float(*local);
    }
    if (sliding && !(*sliding == r)) {
        if (!sliding_rope_ok)
            return make_error(
                "config.json: rope_parameters differ between full_attention "
                "and sliding_attention layers (not supported)");
        if (!r.mrope_section.empty() || !sliding->mrope_section.empty())
            return make_error(
                "config.json: per-layer-type RoPE with mrope_section is not "
                "supported");
        c.sliding_rope_theta = sliding->theta;
        c.sliding_rope_scaling = sliding->scaling;
    }
    c.rope_theta = r.theta;
    c.rope_scaling = r.scaling;
    c.mrope_section = r.mrope_section;
    return status::success();
}

// Gemma2Config / Gemma3TextConfig keys: scores scaled by query_pre_attn_scalar^-0.5
// (default 256), the attention and final-logit soft-caps (null: none; absent: the config
// class's default, which the table's recipe holds), and the GeGLU activation.
status parse_gemma_keys(object o, model_config& c) {
    auto scalar = get_number(o, "query_pre_attn_scalar", 256.0);
    if (!scalar) return scalar.err();
    if (!(*scalar > 0)) return make_error("config.json: 'query_pre_attn_scalar' must be > 0");
    if (*scalar != double(c.head_dim)) c.recipe.attention_scale = float(1.0 / std::sqrt(*scalar));
    for (auto [key, dst] : {std::pair{"attn_logit_softcapping", &c.recipe.attention_softcap},
                            {"final_logit_softcapping", &c.recipe.final_logit_softcap}}) {
        element e;
        if (o[key].get(e)) continue;
        double v = 0;
        if (e.is_null()) {
            *dst = 0.0f;
        } else if (e.get(v) || !(v > 0)) {
            return make_error("config.json: '%s' must be a positive number or null", key);
        } else {
            *dst = float(v);
        }
    }
    std::string_view act = "gelu_pytorch_tanh";
    if (!is_null(o, "hidden_activation") && o["hidden_activation"].get(act))
        return make_error("config.json: 'hidden_activation' must be a string");
    if (act != "gelu_pytorch_tanh" && act != "gelu_new")
        return make_error(
            "config.json: hidden_activation '%.*s' is not supported (supported: "
            "gelu_pytorch_tanh, gelu_new)",
            int(act.size()), act.data());
    return status::success();
}

}  // namespace

result<model_config> parse_hf_config(std::string_view config_json,
                                     std::string_view generation_config_json) {
    simdjson::dom::parser parser;
    object o;
    if (parser.parse(config_json.data(), config_json.size(), true).get(o))
        return make_error("config.json is not a valid JSON object");
    model_config c;
    std::string_view model_type;
    if (o["model_type"].get(model_type)) return make_error("config.json: missing 'model_type'");
    const object root = o;
    // A vision-language checkpoint wraps its text model's config in text_config; the text
    // model is what this reads (multimodal::read_vision_tower_config reads the tower).
    bool mrope = false;
    if (model_type == "llava" || model_type == "idefics3" || model_type == "smolvlm" ||
        model_type == "gemma3") {
        object text;
        if (o["text_config"].get(text))
            return make_error("config.json: a '%.*s' checkpoint needs a 'text_config' object",
                              int(model_type.size()), model_type.data());
        o = text;
        if (o["model_type"].get(model_type))
            return make_error("config.json: text_config has no 'model_type'");
    } else if (model_type == "qwen2_5_vl") {
        // Qwen2.5-VL's text model is Qwen2 with M-RoPE. transformers 5 writes its keys under
        // text_config (model_type qwen2_5_vl_text), transformers 4 at the top level.
        object text;
        if (!is_null(o, "text_config")) {
            if (o["text_config"].get(text))
                return make_error("config.json: 'text_config' must be an object");
            o = text;
        }
        model_type = "qwen2";
        mrope = true;
    } else if (model_type == "qwen2_vl") {
        return make_error("config.json: 'qwen2_vl' (Qwen2-VL) is not supported (its vision "
                          "tower is not; Qwen2.5-VL is)");
    }
    const auto [info, hf_type] = find_hf_model_type(model_type);
    if (!info)
        return make_error("config.json: model_type '%.*s' is not supported (supported: %s)",
                          int(model_type.size()), model_type.data(), hf_model_type_names().c_str());
    c.arch = info->arch;
    c.recipe = info->recipe;
    for (auto [key, dst] : {std::pair{"hidden_size", &c.hidden_size},
                            {"intermediate_size", &c.intermediate_size},
                            {"num_hidden_layers", &c.num_layers},
                            {"num_attention_heads", &c.num_heads},
                            {"vocab_size", &c.vocab_size}}) {
        auto v = get_int(o, key);
        if (!v) return v.err();
        // Checked before anything is sized from it (parse_layer_types' per-layer table).
        const int64_t limit = dst == &c.num_layers ? k_max_config_layers : k_max_config_dim;
        if (*v > limit)
            return make_error("config.json: %s %lld is above the limit %lld", key,
                              (long long)*v, (long long)limit);
        *dst = *v;
    }
    if (c.hidden_size <= 0 || c.num_heads <= 0 || c.num_layers <= 0 || c.vocab_size <= 0 ||
        c.intermediate_size <= 0)
        return make_error("config.json: sizes must be positive");
    c.num_kv_heads = c.num_heads;
    if (!is_null(o, "num_key_value_heads")) {
        auto v = get_int(o, "num_key_value_heads");
        if (!v) return v.err();
        c.num_kv_heads = *v;
    }
    if (c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0)
        return make_error(
            "config.json: num_attention_heads %lld is not a multiple of "
            "num_key_value_heads %lld",
            (long long)c.num_heads, (long long)c.num_kv_heads);
    c.head_dim = c.hidden_size / c.num_heads;
    if (!is_null(o, "head_dim")) {
        auto v = get_int(o, "head_dim");
        if (!v) return v.err();
        c.head_dim = *v;
    }
    if (c.head_dim <= 0 || c.head_dim % 2 != 0 || c.head_dim > k_max_config_dim)
        return make_error("config.json: head_dim %lld must be positive, even and at most 2^24",
                          (long long)c.head_dim);
    if (!is_null(o, "max_position_embeddings")) {
        auto v = get_int(o, "max_position_embeddings");
        if (!v) return v.err();
        c.max_position = *v;
    }
    const bool layer_norm = c.recipe.norm == norm_kind::layer;
    auto eps =
        get_number(o, layer_norm ? "layer_norm_eps" : "rms_norm_eps", layer_norm ? 1e-12 : 1e-6);
    if (!eps) return eps.err();
    c.rms_norm_eps = float(*eps);
    if (c.recipe.positions == position_kind::absolute) {
        // BertConfig: exact (erf) GELU and learned absolute positions are all that runs here.
        std::string_view act = "gelu", pos = "absolute";
        if (!is_null(o, "hidden_act") && o["hidden_act"].get(act))
            return make_error("config.json: 'hidden_act' must be a string");
        if (!is_null(o, "position_embedding_type") && o["position_embedding_type"].get(pos))
            return make_error("config.json: 'position_embedding_type' must be a string");
        if (act != "gelu")
            return make_error(
                "config.json: hidden_act '%.*s' is not supported for %.*s "
                "(supported: gelu)",
                int(act.size()), act.data(), int(model_type.size()), model_type.data());
        if (pos != "absolute")
            return make_error(
                "config.json: position_embedding_type '%.*s' is not supported "
                "(supported: absolute)",
                int(pos.size()), pos.data());
    }
    if (status s = parse_sliding_window(o, *hf_type, c); !s) return s.err();
    if (status s = parse_rope(o, info->sliding_rope, c); !s) return s.err();
    if (info->embedding_scale_sqrt_hidden)
        c.recipe.embedding_scale = std::sqrt(static_cast<float>(c.hidden_size));
    if (info->gemma_keys) {
        if (status s = parse_gemma_keys(o, c); !s) return s.err();
    }
    if (status s = read_hf_moe_config(o, info->hf_moe, c); !s) return s.err();
    if (!mrope) {
        c.mrope_section.clear();  // transformers reads it only in Qwen2-VL's attention
    } else if (c.mrope_section.empty()) {
        return make_error("config.json: a qwen2_5_vl text model needs its RoPE settings' "
                          "'mrope_section'");
    } else if (status s = check_mrope_section(c); !s) {
        return make_error("config.json: %s", s.message().c_str());
    }
    // Qwen2.5-VL keeps tie_word_embeddings beside text_config.
    const bool tie_at_root = mrope && is_null(o, "tie_word_embeddings");
    auto tie = get_flag(tie_at_root ? root : o, "tie_word_embeddings", false);
    if (!tie) return tie.err();
    c.tie_word_embeddings = *tie;
    if (info->hf_attention_bias_key) {
        auto bias = get_flag(o, "attention_bias", false);
        if (!bias) return bias.err();
        c.recipe.qkv_bias = *bias;
    }
    c.rope_neox = true;
    std::vector<int32_t> bos;
    if (status s = add_ids(o, "bos_token_id", "config.json", bos); !s) return s.err();
    if (status s = add_ids(o, "eos_token_id", "config.json", c.eos_token_ids); !s) return s.err();
    if (!generation_config_json.empty()) {
        simdjson::dom::parser gen_parser;
        object g;
        if (gen_parser.parse(generation_config_json.data(), generation_config_json.size(), true)
                .get(g))
            return make_error("generation_config.json is not a valid JSON object");
        const char* file = "generation_config.json";
        if (status s = add_ids(g, "bos_token_id", file, bos); !s) return s.err();
        if (status s = add_ids(g, "eos_token_id", file, c.eos_token_ids); !s) return s.err();
    }
    if (!bos.empty()) c.bos_token_id = bos.front();
    return c;
}

result<model_config> read_hf_config(const std::string& dir) {
    namespace fs = std::filesystem;
    auto config = read_text_file(fs::path(dir) / "config.json");
    if (!config) return make_error("%s: no readable config.json", dir.c_str());
    std::string gen;
    fs::path gen_path = fs::path(dir) / "generation_config.json";
    if (fs::exists(gen_path)) {
        auto g = read_text_file(gen_path);
        if (!g) return g.err();
        gen = std::move(*g);
    }
    auto c = parse_hf_config(*config, gen);
    if (!c) return error{dir + "/" + c.message()};
    auto pooling = read_sentence_transformers_pooling(dir);
    if (!pooling) return pooling.err();
    c->pooling = *pooling;
    fs::path p = fs::path(dir);
    if (!p.has_filename()) p = p.parent_path();
    c->name = p.filename().string();
    return c;
}

}  // namespace actorlm

// Reading and checking moe_config (see moe_config.hpp): config.json keys by the architecture
// table's hf_moe_keys, GGUF keys as llama.cpp's converter writes them. Every count is bounded
// before anything is sized from it.
#include "model/moe_config.hpp"

#include <simdjson.h>

#include "model/gguf_file.hpp"
#include "model/model_config.hpp"

namespace actorlm {

namespace {

using simdjson::dom::element;

// A non-negative integer key of config.json; `fallback` when absent or null.
result<int64_t> moe_json_int(const simdjson::dom::object& o, const char* key, int64_t fallback) {
    element e;
    if (o[key].get(e) || e.is_null()) return fallback;
    int64_t v = 0;
    if (e.get(v) || v < 0)
        return make_error("config.json: '%s' must be a non-negative integer", key);
    return v;
}

}  // namespace

bool layer_is_moe(const model_config& c, int64_t layer) {
    if (c.moe.num_experts <= 0) return false;
    if (c.moe.dense_layers.empty()) return true;
    return layer >= 0 && layer < int64_t(c.moe.dense_layers.size()) &&
           !c.moe.dense_layers[size_t(layer)];
}

status check_moe_config(const model_config& c) {
    const moe_config& m = c.moe;
    if (m.num_experts == 0) return status::success();
    if (m.num_experts < 0 || m.num_experts > k_max_config_experts)
        return make_error("expert count %lld must be in [1, %lld]", (long long)m.num_experts,
                          (long long)k_max_config_experts);
    if (m.num_experts_used < 1 || m.num_experts_used > m.num_experts)
        return make_error("experts used per token %lld must be in [1, expert count %lld]",
                          (long long)m.num_experts_used, (long long)m.num_experts);
    if (m.expert_intermediate_size <= 0 || m.expert_intermediate_size > k_max_config_dim)
        return make_error("expert FFN width %lld must be in [1, 2^24]",
                          (long long)m.expert_intermediate_size);
    if (!m.dense_layers.empty() && int64_t(m.dense_layers.size()) != c.num_layers)
        return make_error("the dense-layer table names %zu layers of %lld", m.dense_layers.size(),
                          (long long)c.num_layers);
    return status::success();
}

status read_hf_moe_config(const simdjson::dom::object& o, hf_moe_keys keys, model_config& c) {
    if (keys == hf_moe_keys::none) return status::success();
    moe_config& m = c.moe;
    const bool qwen = keys == hf_moe_keys::qwen;
    // Hub Qwen3-MoE configs say num_experts; transformers 5 writes num_local_experts for both.
    element probe;
    const bool qwen_key = qwen && !o["num_experts"].get(probe) && !probe.is_null();
    const char* count_key = qwen_key ? "num_experts" : "num_local_experts";
    for (auto [key, dst] :
         {std::pair{count_key, &m.num_experts}, {"num_experts_per_tok", &m.num_experts_used}}) {
        auto v = moe_json_int(o, key, -1);
        if (!v) return v.err();
        if (*v < 0) return make_error("config.json: missing '%s'", key);
        if (*v > k_max_config_experts)
            return make_error("config.json: %s %lld is above the limit %lld", key, (long long)*v,
                              (long long)k_max_config_experts);
        *dst = *v;
    }
    m.expert_intermediate_size = c.intermediate_size;
    m.normalize_top_k = true;  // Mixtral renormalizes its top-2 always
    if (qwen) {
        auto ff = moe_json_int(o, "moe_intermediate_size", -1);
        if (!ff) return ff.err();
        if (*ff < 0) return make_error("config.json: missing 'moe_intermediate_size'");
        m.expert_intermediate_size = *ff;
        element e;
        bool norm = false;  // Qwen3MoeConfig's default
        if (!o["norm_topk_prob"].get(e) && !e.is_null() && e.get(norm))
            return make_error("config.json: 'norm_topk_prob' must be true or false");
        m.normalize_top_k = norm;
        auto step = moe_json_int(o, "decoder_sparse_step", 1);
        if (!step) return step.err();
        if (*step < 1) return make_error("config.json: 'decoder_sparse_step' must be >= 1");
        // transformers: sparse when not in mlp_only_layers and (layer + 1) % step == 0.
        m.dense_layers.assign(size_t(c.num_layers), false);
        for (int64_t l = 0; l < c.num_layers; ++l) m.dense_layers[size_t(l)] = (l + 1) % *step != 0;
        simdjson::dom::array only;
        if (!o["mlp_only_layers"].get(e) && !e.is_null()) {
            if (e.get(only)) return make_error("config.json: 'mlp_only_layers' must be a list");
            for (element x : only) {
                int64_t l = 0;
                if (x.get(l) || l < 0 || l >= c.num_layers)
                    return make_error(
                        "config.json: 'mlp_only_layers' holds a value that is not "
                        "a layer index below %lld",
                        (long long)c.num_layers);
                m.dense_layers[size_t(l)] = true;
            }
        }
        bool any_dense = false;
        for (bool d : m.dense_layers) any_dense = any_dense || d;
        if (!any_dense) m.dense_layers.clear();
    }
    if (m.num_experts == 0) {
        m = moe_config{};
        return status::success();
    }
    if (status s = check_moe_config(c); !s)
        return make_error("config.json: %s", s.message().c_str());
    c.recipe.mixture_of_experts = true;
    return status::success();
}

status read_gguf_moe_config(const gguf_file& f, const std::string& p, model_config& c) {
    if (!f.has(p + "expert_count")) return status::success();
    moe_config& m = c.moe;
    auto count = f.get_int(p + "expert_count");
    auto used = f.get_int(p + "expert_used_count");
    if (!count || !used)
        return make_error("%s: %sexpert_count and %sexpert_used_count must be integers",
                          f.path().c_str(), p.c_str(), p.c_str());
    if (*count == 0) return status::success();
    if (*count < 0 || *count > k_max_config_experts || *used < 0 || *used > *count)
        return make_error("%s: %sexpert_count %lld / expert_used_count %lld out of range",
                          f.path().c_str(), p.c_str(), (long long)*count, (long long)*used);
    m.num_experts = *count;
    m.num_experts_used = *used;
    m.expert_intermediate_size =
        f.get_int(p + "expert_feed_forward_length").value_or(c.intermediate_size);
    m.normalize_top_k = f.get_bool(p + "expert_weights_norm").value_or(true);
    if (auto g = f.get_int(p + "expert_gating_func"); g && *g != 1)
        return make_error("%s: %sexpert_gating_func %lld is not supported (1, softmax, is)",
                          f.path().c_str(), p.c_str(), (long long)*g);
    m.dense_layers.assign(size_t(c.num_layers), false);
    bool any_dense = false;
    for (int64_t l = 0; l < c.num_layers; ++l) {
        const bool dense = !f.find_tensor("blk." + std::to_string(l) + ".ffn_gate_inp.weight");
        m.dense_layers[size_t(l)] = dense;
        any_dense = any_dense || dense;
    }
    if (!any_dense) m.dense_layers.clear();
    if (status s = check_moe_config(c); !s)
        return make_error("%s: %s", f.path().c_str(), s.message().c_str());
    c.recipe.mixture_of_experts = true;
    return status::success();
}

}  // namespace actorlm

// cpu_executor construction: checks that the loaded weights match the config
// for this stage's layer range with the one weight validator (a wrong shape
// would otherwise read out of bounds inside a kernel), refuses recipe features the layer loop
// lacks, converts norm weights (folding a (1 + w) recipe in) and biases to F32, and sizes the KV
// cache for the owned layers only.
#include <cstring>

#include "cpu/dequantize.hpp"
#include "cpu/embedding.hpp"
#include "cpu/weight_panels.hpp"
#include "model/resident_pages.hpp"
#include "backends/cpu/cpu_executor.hpp"
#include "model/weight_binding.hpp"

namespace actorlm {

namespace {

std::vector<float> to_floats(const tensor& t) {
    std::vector<float> out(static_cast<size_t>(t.num_elements()));
    if (t.type == dtype::f32) {
        std::memcpy(out.data(), t.data, out.size() * sizeof(float));
    } else {
        cpu::dequantize_row(t.type, t.data, out.data(), t.num_elements());
    }
    return out;
}

// A norm weight as the kernels apply it (y = x / rms * w): a (1 + w) recipe adds the 1
// here, once, so the hot loop is the same for every recipe.
std::vector<float> norm_floats(const tensor& t, const model_recipe& r) {
    std::vector<float> out = to_floats(t);
    if (r.norm_weight == norm_weight_kind::one_plus)
        for (float& v : out) v += 1.0f;
    return out;
}

// Every recipe feature the layer loop in cpu_executor.cpp implements.
constexpr uint32_t k_supported_features =
    recipe_qkv_bias | recipe_qk_norm | recipe_norm_one_plus | recipe_gelu_tanh |
    recipe_post_attention_norm | recipe_post_ffn_norm | recipe_embedding_scale |
    recipe_attention_scale | recipe_attention_softcap | recipe_final_logit_softcap |
    recipe_layer_norm | recipe_post_norm | recipe_absolute_positions | recipe_plain_ffn |
    recipe_gelu_erf | recipe_linear_bias | recipe_non_causal | recipe_mixture_of_experts;

status check_config(const model_config& c) {
    if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.intermediate_size <= 0 || c.num_layers <= 0 ||
        c.num_heads <= 0 || c.num_kv_heads <= 0 || c.head_dim <= 0)
        return make_error(
            "model config has a non-positive size (vocab %lld, hidden %lld, ffn %lld, "
            "layers %lld, heads %lld, kv heads %lld, head_dim %lld)",
            static_cast<long long>(c.vocab_size), static_cast<long long>(c.hidden_size),
            static_cast<long long>(c.intermediate_size), static_cast<long long>(c.num_layers),
            static_cast<long long>(c.num_heads), static_cast<long long>(c.num_kv_heads),
            static_cast<long long>(c.head_dim));
    if (c.num_heads % c.num_kv_heads != 0)
        return make_error("num_heads %lld is not a multiple of num_kv_heads %lld",
                          static_cast<long long>(c.num_heads),
                          static_cast<long long>(c.num_kv_heads));
    if (c.head_dim % 2 != 0 && c.recipe.positions == position_kind::rope)
        return make_error("head_dim %lld must be even for RoPE",
                          static_cast<long long>(c.head_dim));
    if (!(c.rope_theta > 0.0f)) return make_error("rope_theta must be positive");
    if (c.rope_scaling.type != rope_scaling_type::none && !(c.rope_scaling.factor > 0.0f))
        return make_error("rope scaling factor must be positive");
    if (status st = check_mrope_section(c); !st.ok()) return st;
    if (c.sliding_window < 0) return make_error("sliding_window must not be negative");
    if (c.sliding_rope_theta < 0.0f) return make_error("sliding_rope_theta must not be negative");
    if (c.sliding_rope_theta > 0.0f && !c.mrope_section.empty())
        return make_error("a separate sliding-layer RoPE with M-RoPE is not supported");
    if (!c.sliding_layers.empty() && static_cast<int64_t>(c.sliding_layers.size()) != c.num_layers)
        return make_error("sliding_layers names %zu layers of %lld", c.sliding_layers.size(),
                          static_cast<long long>(c.num_layers));
    return {};
}

}  // namespace

result<std::unique_ptr<cpu_executor>> cpu_executor::create(model_config config,
                                                           model_weights weights,
                                                           const kv_cache_spec& kv_spec,
                                                           const cpu_executor_options& options) {
    if (status st = check_config(config); !st.ok()) return st.err();
    if (status st = require_recipe_features(config.recipe, k_supported_features, "the CPU backend");
        !st.ok())
        return st.err();
    if (status st = check_cpu_moe(config); !st.ok()) return st.err();
    const int64_t first = options.first_layer;
    const int64_t last = options.last_layer < 0 ? config.num_layers : options.last_layer;
    if (first < 0 || first >= last || last > config.num_layers)
        return make_error("layer range [%lld, %lld) is not inside the model's %lld layers",
                          static_cast<long long>(first), static_cast<long long>(last),
                          static_cast<long long>(config.num_layers));
    if (options.num_threads < 0) return make_error("num_threads must be >= 0 (0 = all cores)");
    if (last == config.num_layers && !weights.lm_head.present() && config.recipe.causal)
        weights.lm_head = weights.token_embedding;  // tied
    if (status st = validate_weights(config, weights, first, last); !st.ok()) return st.err();

    std::vector<layer_params> params;
    for (int64_t l = first; l < last; ++l) {
        const layer_weights& w = weights.layers[static_cast<size_t>(l)];
        layer_params lp;
        const model_recipe& r = config.recipe;
        lp.attn_norm = norm_floats(w.attn_norm, r);
        lp.ffn_norm = norm_floats(w.ffn_norm, r);
        if (r.qkv_bias) {
            lp.bq = to_floats(w.bq);
            lp.bk = to_floats(w.bk);
            lp.bv = to_floats(w.bv);
        }
        if (r.qk_norm) {
            lp.q_norm = norm_floats(w.q_norm, r);
            lp.k_norm = norm_floats(w.k_norm, r);
        }
        if (r.post_attention_norm) {
            lp.post_attn_norm = norm_floats(w.post_attn_norm, r);
        }
        if (r.post_ffn_norm) {
            lp.post_ffn_norm = norm_floats(w.post_ffn_norm, r);
        }
        if (r.linear_bias) {
            lp.bo = to_floats(w.bo);
            lp.b_up = to_floats(w.b_up);
            lp.b_down = to_floats(w.b_down);
        }
        if (r.norm == norm_kind::layer) {
            lp.attn_norm_bias = to_floats(w.attn_norm_bias);
            lp.ffn_norm_bias = to_floats(w.ffn_norm_bias);
        }
        params.push_back(std::move(lp));
    }
    if (options.hybrid_kv_groups && (first != 0 || last != config.num_layers))
        return make_error("paging the KV cache per attention type needs every layer in one "
                          "executor, not layers [%lld, %lld) of %lld",
                          static_cast<long long>(first), static_cast<long long>(last),
                          static_cast<long long>(config.num_layers));
    kv_cache_layout layout = make_kv_cache_layout(config, options.hybrid_kv_groups);
    kv_cache_spec spec = kv_spec;
    spec.num_kv_groups = layout.num_groups();
    // With groups a block holds one page per slot; without, one per owned layer.
    const int64_t stored_layers = spec.num_kv_groups > 1 ? layout.num_slots : last - first;
    auto kv = kv_cache_storage::create(spec, stored_layers, config.num_kv_heads, config.head_dim);
    if (!kv.ok()) return kv.err();

    std::unique_ptr<cpu_executor> ex(new cpu_executor(std::move(config), std::move(weights), spec,
                                                      std::move(kv.value()), first, last,
                                                      options.num_threads));
    ex->layout_ = std::move(layout);
    ex->params_ = std::move(params);
    if (ex->config_.sliding_rope_theta > 0.0f) {
        const model_config& c = ex->config_;
        ex->sliding_rope_ = cpu::make_rope_table(c.head_dim, c.sliding_rope_theta, c.rope_neox,
                                                 c.sliding_rope_scaling);
        ex->has_sliding_rope_ = true;
    }
    if (ex->is_last_stage() && ex->config_.recipe.causal)
        ex->output_norm_ = norm_floats(ex->weights_.output_norm, ex->config_.recipe);
    if (ex->config_.recipe.positions == position_kind::absolute && ex->is_first_stage()) {
        const model_weights& w = ex->weights_;
        ex->embedding_norm_ = to_floats(w.embedding_norm);
        ex->embedding_norm_bias_ = to_floats(w.embedding_norm_bias);
        // Token type 0 (a single-segment input) is the same row for every token.
        const int64_t h = ex->config_.hidden_size;
        ex->token_type0_.resize(static_cast<size_t>(h));
        const int32_t type0 = 0;
        cpu::embed_tokens(w.token_type_embedding, &type0, 1, ex->token_type0_.data());
    }
    ex->repack_matrices(options.on_load_progress);
    return ex;
}

void cpu_executor::repack_matrices(const std::function<void(const load_progress&)>& report) {
    model_weights& w = weights_;
    std::vector<tensor*> matrices;
    for (int64_t l = first_layer_; l < last_layer_; ++l) {
        layer_weights& lw = w.layers[static_cast<size_t>(l)];
        for (tensor* t : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down})
            matrices.push_back(t);
    }
    // A tied lm_head gets its own panel copy; the embedding keeps the row layout
    // that token lookups read.
    if (is_last_stage() && config_.recipe.causal) matrices.push_back(&w.lm_head);
    // Progress counts every matrix, repacked or not: those left in row layout are read
    // from the mapping as they are, so they are "done" as soon as they are reached.
    load_progress progress;
    for (const tensor* t : matrices) progress.bytes_total += static_cast<int64_t>(t->num_bytes);
    for (tensor* t : matrices) {
        if (cpu::prefers_panels(*t)) {
            const tensor rows = *t;
            *t = cpu::repack_to_panels(rows, w.storage, *pool_);
            // The panels replace the row layout (the forward pass never reads it again), so
            // its mapped pages go back rather than sit beside the copy: without this a model
            // is resident twice. A tied lm_head's rows are the embedding, which lookups read.
            if (rows.data != w.token_embedding.data) page_out(rows.data, rows.num_bytes);
            progress.bytes_done += static_cast<int64_t>(rows.num_bytes);
        } else {
            progress.bytes_done += static_cast<int64_t>(t->num_bytes);
        }
        if (report) report(progress);
    }
}

cpu_executor::cpu_executor(model_config config, model_weights weights, const kv_cache_spec& kv_spec,
                           kv_cache_storage kv, int64_t first_layer, int64_t last_layer,
                           int num_threads)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      kv_spec_(kv_spec),
      kv_(std::move(kv)),
      first_layer_(first_layer),
      last_layer_(last_layer),
      pool_(std::make_unique<cpu::thread_pool>(num_threads)),
      rope_(cpu::make_rope_table(config_.head_dim, config_.rope_theta, config_.rope_neox,
                                 config_.rope_scaling)) {}

}  // namespace actorlm

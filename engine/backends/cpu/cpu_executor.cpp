// cpu_executor's forward pass: embed (+ scale) (first stage) -> per layer [RMSNorm,
// Q/K/V matmuls, bias / Q-K norm / RoPE (the sliding layers' own table when the model has
// one) / KV write per token, paged attention (+ soft-cap) per (sequence, KV head, chunk), output
// matmul (+ post-norm) + residual, RMSNorm, gated SiLU/GELU MLP (+ post-norm) + residual] -> final
// norm, lm_head (+ soft-cap) only for the requested rows (last stage). The recipe picks the steps
// once per call, never per element. Matmuls split over the pool internally; the per-token glue
// splits by rows. M-RoPE (forward_batch::mrope_positions) changes only how the per-token angles are
// formed. An encoder (BERT: recipe.placement post) embeds token + position + type 0 rows and
// LayerNorms them, then runs run_post_norm_layer (bidirectional attention, no RoPE) and
// returns its last layer's rows as hidden states.
#include "backends/cpu/cpu_executor.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "backends/cpu/cpu_moe.hpp"
#include "cpu/activation.hpp"
#include "cpu/attention.hpp"
#include "cpu/embedding.hpp"
#include "cpu/gelu.hpp"
#include "cpu/layernorm.hpp"
#include "cpu/matmul.hpp"
#include "cpu/rmsnorm.hpp"

namespace actorlm {

namespace {

// Below this many floats of per-call work, waking the pool costs more than it saves.
constexpr int64_t k_min_parallel_elems = 16384;
// Query tokens per attention work item: small enough to balance a long prefill
// over the threads, large enough that the item overhead stays negligible.
constexpr int64_t k_attention_chunk = 32;

void add_into(float* x, const float* d, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] += d[i];
}

void scale_into(float* x, float s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

// GeGLU with transformers' gelu_pytorch_tanh: out = gelu_tanh(gate) * up; out may alias gate.
void gelu_tanh_mul(const float* gate, const float* up, float* out, int64_t n) {
    constexpr float k_sqrt_2_over_pi = 0.7978845608028654f;
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        const float inner = k_sqrt_2_over_pi * (g + 0.044715f * g * g * g);
        out[i] = 0.5f * g * (1.0f + std::tanh(inner)) * up[i];
    }
}

void softcap_into(float* x, float cap, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace

void cpu_executor::for_rows(int64_t n, int64_t elems_per_row,
                            const std::function<void(int64_t, int64_t)>& fn) {
    if (n * elems_per_row < k_min_parallel_elems || pool_->size() == 1) {
        fn(0, n);
    } else {
        pool_->parallel_for(n, fn);
    }
}

status cpu_executor::forward(const forward_batch& batch, std::vector<float>& logits) {
    if (!is_first_stage() || !is_last_stage())
        return make_error("this executor runs layers [%lld, %lld) of %lld: use forward_stage",
                          static_cast<long long>(first_layer_), static_cast<long long>(last_layer_),
                          static_cast<long long>(config_.num_layers));
    return forward_stage(batch, nullptr, nullptr, &logits);
}

status cpu_executor::forward_stage(const forward_batch& batch, const float* hidden_in,
                                   std::vector<float>* hidden_out, std::vector<float>* logits) {
    return forward_stage_with_hidden(batch, hidden_in, hidden_out, logits, nullptr);
}

status cpu_executor::forward_stage_with_hidden(const forward_batch& batch, const float* hidden_in,
                                               std::vector<float>* hidden_out,
                                               std::vector<float>* logits,
                                               std::vector<float>* normed_hidden) {
    if (is_last_stage() && !batch.hidden_indices.empty() && normed_hidden == nullptr)
        return make_error("a batch with hidden_indices needs normed_hidden");
    if (is_first_stage() != (hidden_in == nullptr))
        return make_error(is_first_stage()
                              ? "the first stage embeds token ids: hidden_in must be null"
                              : "a later pipeline stage needs hidden_in");
    if (!is_last_stage() && hidden_out == nullptr)
        return make_error("a non-last pipeline stage needs hidden_out");
    if (is_last_stage() && logits == nullptr)
        return make_error("the last pipeline stage needs logits");
    if (status st = check_batch(batch); !st.ok()) return st;
    if (layout_.num_groups() > 1) gather_group_tables(batch);

    const int64_t num_tokens = batch.num_tokens();
    const int64_t h = config_.hidden_size;
    x_.resize(static_cast<size_t>(num_tokens * h));
    if (hidden_in == nullptr) {
        for_rows(num_tokens, h, [&](int64_t b, int64_t e) {
            cpu::embed_tokens(weights_.token_embedding, batch.token_ids.data() + b, e - b,
                              x_.data() + b * h);
        });
        if (config_.recipe.embedding_scale != 1.0f)
            for_rows(num_tokens, h, [&](int64_t b, int64_t e) {
                scale_into(x_.data() + b * h, config_.recipe.embedding_scale, (e - b) * h);
            });
        if (config_.recipe.positions == position_kind::absolute) add_absolute_positions(batch);
        for (const auto& row : batch.embedding_overrides)
            std::memcpy(x_.data() + static_cast<int64_t>(row.token_index) * h, row.values,
                        static_cast<size_t>(h) * sizeof(float));
    } else {
        std::memcpy(x_.data(), hidden_in, x_.size() * sizeof(float));
    }

    if (config_.recipe.positions == position_kind::rope) {
        const int64_t half = config_.head_dim / 2;
        cos_.resize(static_cast<size_t>(num_tokens * half));
        sin_.resize(static_cast<size_t>(num_tokens * half));
        if (batch.mrope_positions.empty())
            cpu::rope_angles(rope_, batch.positions.data(), num_tokens, cos_.data(), sin_.data());
        else
            cpu::mrope_angles(rope_, config_.mrope_section, batch.mrope_positions.data(),
                              num_tokens, cos_.data(), sin_.data());
        if (has_sliding_rope_) {  // Gemma 3's local layers (the loaders refuse it with M-RoPE)
            sliding_cos_.resize(cos_.size());
            sliding_sin_.resize(sin_.size());
            cpu::rope_angles(sliding_rope_, batch.positions.data(), num_tokens, sliding_cos_.data(),
                             sliding_sin_.data());
        }
    }

    for (int64_t l = first_layer_; l < last_layer_; ++l) {
        if (config_.recipe.placement == norm_placement::post)
            run_post_norm_layer(l, batch);
        else
            run_layer(l, batch);
    }

    if (is_last_stage()) {
        compute_logits(batch, *logits);
        if (normed_hidden != nullptr) compute_normed_hidden(batch, *normed_hidden);
    } else {
        hidden_out->assign(x_.begin(), x_.end());
    }
    return {};
}

void cpu_executor::project_qkv(int64_t layer, const float* in, const forward_batch& batch) {
    const layer_weights& w = weights_.layers[static_cast<size_t>(layer)];
    const int64_t local = layer - first_layer_;
    const layer_params& p = params_[static_cast<size_t>(local)];
    const int64_t num_tokens = batch.num_tokens(), hd = config_.head_dim;
    const int64_t nh = config_.num_heads, nkv = config_.num_kv_heads;
    const int64_t q_dim = nh * hd, kv_dim = nkv * hd, half = hd / 2;
    const float eps = config_.rms_norm_eps;
    const model_recipe& recipe = config_.recipe;
    const bool rope = recipe.positions == position_kind::rope;
    // A sliding layer turns with its own table when the model has one (Gemma 3).
    const bool sliding_rope = has_sliding_rope_ && layer_attention_window(config_, layer) > 0;
    const cpu::rope_table& table = sliding_rope ? sliding_rope_ : rope_;
    const float* cos_rows = sliding_rope ? sliding_cos_.data() : cos_.data();
    const float* sin_rows = sliding_rope ? sliding_sin_.data() : sin_.data();
    q_.resize(static_cast<size_t>(num_tokens * q_dim));
    k_.resize(static_cast<size_t>(num_tokens * kv_dim));
    v_.resize(static_cast<size_t>(num_tokens * kv_dim));
    cpu::matmul(w.wq, in, num_tokens, q_.data(), *pool_);
    cpu::matmul(w.wk, in, num_tokens, k_.data(), *pool_);
    cpu::matmul(w.wv, in, num_tokens, v_.data(), *pool_);
    for_rows(num_tokens, q_dim + 2 * kv_dim, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
            float* q = q_.data() + t * q_dim;
            float* k = k_.data() + t * kv_dim;
            float* v = v_.data() + t * kv_dim;
            if (recipe.qkv_bias) {
                add_into(q, p.bq.data(), q_dim);
                add_into(k, p.bk.data(), kv_dim);
                add_into(v, p.bv.data(), kv_dim);
            }
            if (recipe.qk_norm) {
                cpu::rmsnorm_rows(q, p.q_norm.data(), nh, hd, eps);
                cpu::rmsnorm_rows(k, p.k_norm.data(), nkv, hd, eps);
            }
            if (rope) {
                cpu::apply_rope(table, q, nh, cos_rows + t * half, sin_rows + t * half);
                cpu::apply_rope(table, k, nkv, cos_rows + t * half, sin_rows + t * half);
            }
            kv_.write(kv_layer(layer), kv_slot(layer, batch, t), k, v);
        }
    });
}

void cpu_executor::run_layer(int64_t layer, const forward_batch& batch) {
    const layer_weights& w = weights_.layers[static_cast<size_t>(layer)];
    const int64_t local = layer - first_layer_;
    const layer_params& p = params_[static_cast<size_t>(local)];
    const int64_t num_tokens = batch.num_tokens();
    const int64_t h = config_.hidden_size, f = config_.intermediate_size;
    const int64_t q_dim = config_.num_heads * config_.head_dim;
    const float eps = config_.rms_norm_eps;
    const model_recipe& recipe = config_.recipe;
    cpu::thread_pool& pool = *pool_;

    xn_.resize(static_cast<size_t>(num_tokens * h));
    attn_.resize(static_cast<size_t>(num_tokens * q_dim));
    delta_.resize(static_cast<size_t>(num_tokens * h));
    gate_.resize(static_cast<size_t>(num_tokens * f));
    up_.resize(static_cast<size_t>(num_tokens * f));

    // ---- attention block ----
    for_rows(num_tokens, h, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t)
            cpu::rmsnorm(x_.data() + t * h, p.attn_norm.data(), xn_.data() + t * h, h, eps);
    });
    project_qkv(layer, xn_.data(), batch);
    run_attention(layer, batch);
    cpu::matmul(w.wo, attn_.data(), num_tokens, delta_.data(), pool);

    // ---- MLP block ----
    const float* post_attn = recipe.post_attention_norm ? p.post_attn_norm.data() : nullptr;
    for_rows(num_tokens, h, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
            if (post_attn) cpu::rmsnorm_rows(delta_.data() + t * h, post_attn, 1, h, eps);
            add_into(x_.data() + t * h, delta_.data() + t * h, h);
            cpu::rmsnorm(x_.data() + t * h, p.ffn_norm.data(), xn_.data() + t * h, h, eps);
        }
    });
    if (layer_is_moe(config_, layer)) {
        moe_ffn(w, config_, xn_.data(), num_tokens, delta_.data(), pool, moe_);
    } else {
        run_dense_ffn(w, num_tokens);
    }
    const float* post_ffn = recipe.post_ffn_norm ? p.post_ffn_norm.data() : nullptr;
    for_rows(num_tokens, h, [&](int64_t b, int64_t e) {
        if (post_ffn) cpu::rmsnorm_rows(delta_.data() + b * h, post_ffn, e - b, h, eps);
        add_into(x_.data() + b * h, delta_.data() + b * h, (e - b) * h);
    });
}

void cpu_executor::run_dense_ffn(const layer_weights& w, int64_t num_tokens) {
    const int64_t f = config_.intermediate_size;
    cpu::thread_pool& pool = *pool_;
    cpu::matmul(w.w_gate, xn_.data(), num_tokens, gate_.data(), pool);
    cpu::matmul(w.w_up, xn_.data(), num_tokens, up_.data(), pool);
    if (config_.recipe.activation == ffn_activation::gelu_tanh) {
        for_rows(num_tokens, f, [&](int64_t b, int64_t e) {
            gelu_tanh_mul(gate_.data() + b * f, up_.data() + b * f, gate_.data() + b * f,
                          (e - b) * f);
        });
    } else {
        for_rows(num_tokens, f, [&](int64_t b, int64_t e) {
            cpu::silu_mul(gate_.data() + b * f, up_.data() + b * f, gate_.data() + b * f,
                          (e - b) * f);
        });
    }
    cpu::matmul(w.w_down, gate_.data(), num_tokens, delta_.data(), pool);
}

void cpu_executor::add_absolute_positions(const forward_batch& batch) {
    const int64_t num_tokens = batch.num_tokens(), h = config_.hidden_size;
    for_rows(num_tokens, h, [&](int64_t b, int64_t e) {
        thread_local std::vector<float> row;
        row.resize(static_cast<size_t>(h));
        for (int64_t t = b; t < e; ++t) {
            float* x = x_.data() + t * h;
            cpu::embed_tokens(weights_.position_embedding, batch.positions.data() + t, 1,
                              row.data());
            add_into(x, row.data(), h);
            add_into(x, token_type0_.data(), h);
            cpu::layernorm(x, embedding_norm_.data(), embedding_norm_bias_.data(), x, h,
                           config_.rms_norm_eps);
        }
    });
}

void cpu_executor::run_post_norm_layer(int64_t layer, const forward_batch& batch) {
    const layer_weights& w = weights_.layers[static_cast<size_t>(layer)];
    const int64_t local = layer - first_layer_;
    const layer_params& p = params_[static_cast<size_t>(local)];
    const int64_t num_tokens = batch.num_tokens();
    const int64_t h = config_.hidden_size, f = config_.intermediate_size;
    const int64_t q_dim = config_.num_heads * config_.head_dim;
    const float eps = config_.rms_norm_eps;
    const model_recipe& recipe = config_.recipe;
    cpu::thread_pool& pool = *pool_;

    attn_.resize(static_cast<size_t>(num_tokens * q_dim));
    delta_.resize(static_cast<size_t>(num_tokens * h));
    up_.resize(static_cast<size_t>(num_tokens * f));
    // Adds `bias` (when the recipe has linear biases) to rows [b, e) of width n.
    auto add_bias = [&](float* rows, const std::vector<float>& bias, int64_t b, int64_t e,
                        int64_t n) {
        if (!recipe.linear_bias) return;
        for (int64_t t = b; t < e; ++t) add_into(rows + t * n, bias.data(), n);
    };
    // x = norm(x + delta) with `norm`'s weight and bias: the post-norm residual.
    auto residual_norm = [&](const std::vector<float>& norm, const std::vector<float>& bias) {
        for_rows(num_tokens, h, [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) {
                float* x = x_.data() + t * h;
                add_into(x, delta_.data() + t * h, h);
                if (recipe.norm == norm_kind::layer)
                    cpu::layernorm(x, norm.data(), bias.data(), x, h, eps);
                else
                    cpu::rmsnorm_rows(x, norm.data(), 1, h, eps);
            }
        });
    };

    // ---- attention block: x = norm(x + o(attn(q, k, v))) ----
    project_qkv(layer, x_.data(), batch);
    run_attention(layer, batch);
    cpu::matmul(w.wo, attn_.data(), num_tokens, delta_.data(), pool);
    for_rows(num_tokens, h, [&](int64_t b, int64_t e) { add_bias(delta_.data(), p.bo, b, e, h); });
    residual_norm(p.attn_norm, p.attn_norm_bias);

    // ---- FFN block: x = norm(x + down(gelu(up(x)))) ----
    cpu::matmul(w.w_up, x_.data(), num_tokens, up_.data(), pool);
    for_rows(num_tokens, f, [&](int64_t b, int64_t e) {
        add_bias(up_.data(), p.b_up, b, e, f);
        if (recipe.activation == ffn_activation::gelu_erf)
            cpu::gelu_erf(up_.data() + b * f, (e - b) * f);
        else
            cpu::gelu_tanh(up_.data() + b * f, (e - b) * f);
    });
    cpu::matmul(w.w_down, up_.data(), num_tokens, delta_.data(), pool);
    for_rows(num_tokens, h,
             [&](int64_t b, int64_t e) { add_bias(delta_.data(), p.b_down, b, e, h); });
    residual_norm(p.ffn_norm, p.ffn_norm_bias);
}

void cpu_executor::gather_group_tables(const forward_batch& batch) {
    const int32_t groups = layout_.num_groups();
    const int32_t width = batch.max_blocks_per_seq / groups;  // check_batch: a multiple
    const int64_t bs = kv_spec_.block_size;
    group_table_width_ = width;
    group_tables_.resize(static_cast<size_t>(groups));
    group_slots_.resize(static_cast<size_t>(groups));
    for (int32_t g = 0; g < groups; ++g) {
        auto& table = group_tables_[static_cast<size_t>(g)];
        table.resize(static_cast<size_t>(batch.num_seqs()) * static_cast<size_t>(width));
        for (int32_t s = 0; s < batch.num_seqs(); ++s)
            for (int32_t i = 0; i < width; ++i)
                table[static_cast<size_t>(s * width + i)] =
                    batch.block_tables[static_cast<size_t>(s * batch.max_blocks_per_seq +
                                                           i * groups + g)];
        auto& slots = group_slots_[static_cast<size_t>(g)];
        slots.resize(static_cast<size_t>(batch.num_tokens()));
        for (int32_t s = 0; s < batch.num_seqs(); ++s)
            for (int32_t t = batch.query_start_loc[static_cast<size_t>(s)];
                 t < batch.query_start_loc[static_cast<size_t>(s) + 1]; ++t) {
                const int64_t pos = batch.positions[static_cast<size_t>(t)];
                slots[static_cast<size_t>(t)] =
                    static_cast<int64_t>(table[static_cast<size_t>(s * width + pos / bs)]) * bs +
                    pos % bs;
            }
    }
}

int64_t cpu_executor::kv_layer(int64_t layer) const {
    return layout_.num_groups() > 1 ? layout_.slot_of_layer[static_cast<size_t>(layer)]
                                    : layer - first_layer_;
}

int64_t cpu_executor::kv_slot(int64_t layer, const forward_batch& batch, int64_t t) const {
    if (layout_.num_groups() == 1) return batch.slot_mapping[static_cast<size_t>(t)];
    const auto g = static_cast<size_t>(layout_.group_of_layer[static_cast<size_t>(layer)]);
    return group_slots_[g][static_cast<size_t>(t)];
}

const int32_t* cpu_executor::block_table(int64_t layer, const forward_batch& batch,
                                         int32_t seq) const {
    if (layout_.num_groups() == 1)
        return batch.block_tables.data() + static_cast<int64_t>(seq) * batch.max_blocks_per_seq;
    const auto g = static_cast<size_t>(layout_.group_of_layer[static_cast<size_t>(layer)]);
    return group_tables_[g].data() + static_cast<int64_t>(seq) * group_table_width_;
}

void cpu_executor::run_attention(int64_t layer, const forward_batch& batch) {
    struct work_item {
        int32_t seq, kv_head, token_begin, token_end;
        int64_t cost;  // ~ query tokens x attended positions
    };
    const int32_t nh = static_cast<int32_t>(config_.num_heads);
    const int32_t nkv = static_cast<int32_t>(config_.num_kv_heads);
    const int64_t q_dim = config_.num_heads * config_.head_dim;
    const int32_t window = layer_attention_window(config_, layer);
    std::vector<work_item> items;
    for (int32_t s = 0; s < batch.num_seqs(); ++s) {
        const int32_t begin = batch.query_start_loc[static_cast<size_t>(s)];
        const int32_t end = batch.query_start_loc[static_cast<size_t>(s) + 1];
        for (int32_t c = begin; c < end; c += static_cast<int32_t>(k_attention_chunk)) {
            const int32_t ce = std::min(end, c + static_cast<int32_t>(k_attention_chunk));
            const int64_t last = config_.recipe.causal
                                     ? batch.positions[static_cast<size_t>(ce) - 1]
                                     : batch.positions[static_cast<size_t>(end) - 1];
            const int64_t cost =
                static_cast<int64_t>(ce - c) * (last + 1 - cpu::attention_first_key(last, window));
            for (int32_t g = 0; g < nkv; ++g) items.push_back({s, g, c, ce, cost});
        }
    }
    // Largest first, then taken dynamically: a long prefill chunk never ends up
    // as the last item of one thread while the other idles.
    std::stable_sort(items.begin(), items.end(),
                     [](const work_item& a, const work_item& b) { return a.cost > b.cost; });

    const cpu::paged_kv_layer kv = kv_.layer_view(kv_layer(layer));
    const float scale = attention_score_scale(config_.recipe, config_.head_dim);
    auto run_item = [&](const work_item& it) {
        cpu::attention_query q;
        q.q = q_.data() + static_cast<int64_t>(it.token_begin) * q_dim;
        q.q_stride = q_dim;
        q.positions = batch.positions.data() + it.token_begin;
        q.num_tokens = it.token_end - it.token_begin;
        q.block_table = block_table(layer, batch, it.seq);
        q.out = attn_.data() + static_cast<int64_t>(it.token_begin) * q_dim;
        q.out_stride = q_dim;
        q.sliding_window = window;
        q.softcap = config_.recipe.attention_softcap;
        // An encoder attends to the whole sequence, which is all in this step (the
        // scheduler never splits an encoder prompt): its last position + 1 keys.
        if (!config_.recipe.causal) {
            const auto seq_end = batch.query_start_loc[static_cast<size_t>(it.seq) + 1];
            q.context_len = batch.positions[static_cast<size_t>(seq_end) - 1] + 1;
        }
        cpu::paged_attention_kv_head(kv, q, nh, it.kv_head, scale);
    };
    int64_t total_cost = 0;
    for (const work_item& it : items) total_cost += it.cost;
    if (pool_->size() == 1 || total_cost * config_.head_dim < k_min_parallel_elems) {
        for (const work_item& it : items) run_item(it);
        return;
    }
    std::atomic<size_t> next{0};
    pool_->parallel_for(pool_->size(), [&](int64_t, int64_t) {
        for (size_t i = next.fetch_add(1, std::memory_order_relaxed); i < items.size();
             i = next.fetch_add(1, std::memory_order_relaxed))
            run_item(items[i]);
    });
}

void cpu_executor::compute_normed_hidden(const forward_batch& batch, std::vector<float>& out) {
    const int64_t h = config_.hidden_size;
    const int64_t n = static_cast<int64_t>(batch.hidden_indices.size());
    out.resize(static_cast<size_t>(n * h));
    if (!config_.recipe.causal) {  // an encoder's output is its last layer's, unnormed
        for (int64_t i = 0; i < n; ++i)
            std::memcpy(
                out.data() + i * h,
                x_.data() + static_cast<int64_t>(batch.hidden_indices[static_cast<size_t>(i)]) * h,
                static_cast<size_t>(h) * sizeof(float));
        return;
    }
    // The same final norm compute_logits applies before lm_head.
    for (int64_t i = 0; i < n; ++i)
        cpu::rmsnorm(
            x_.data() + static_cast<int64_t>(batch.hidden_indices[static_cast<size_t>(i)]) * h,
            output_norm_.data(), out.data() + i * h, h, config_.rms_norm_eps);
}

void cpu_executor::compute_logits(const forward_batch& batch, std::vector<float>& logits) {
    const int64_t h = config_.hidden_size;
    const int64_t n = static_cast<int64_t>(batch.logits_indices.size());
    logits.resize(static_cast<size_t>(n * config_.vocab_size));
    if (n == 0) return;
    // An encoder has no lm head: check_batch refuses logits rows for it.
    if (!config_.recipe.causal) return;
    xn_.resize(static_cast<size_t>(n * h));
    for (int64_t i = 0; i < n; ++i)
        cpu::rmsnorm(
            x_.data() + static_cast<int64_t>(batch.logits_indices[static_cast<size_t>(i)]) * h,
            output_norm_.data(), xn_.data() + i * h, h, config_.rms_norm_eps);
    cpu::matmul(weights_.lm_head, xn_.data(), n, logits.data(), *pool_);
    if (const float cap = config_.recipe.final_logit_softcap; cap > 0.0f)
        for_rows(n, config_.vocab_size, [&](int64_t b, int64_t e) {
            softcap_into(logits.data() + b * config_.vocab_size, cap, (e - b) * config_.vocab_size);
        });
}

}  // namespace actorlm

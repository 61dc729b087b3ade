// Shared tensor binding and shape validation for all model formats. Layers are
// appended one at a time, so a corrupt block count fails at the first missing
// tensor instead of allocating a huge vector.
#include "model/weight_binding.hpp"

#include <cstring>
#include <vector>

#include "base/float_bits.hpp"
#include "model/architecture.hpp"

namespace actorlm {

namespace {

// Converts a 1-D F16/BF16 tensor into an owned F32 buffer kept alive by `storage`.
status to_f32(tensor& t, std::vector<std::shared_ptr<void>>& storage) {
    if (t.type == dtype::f32 || !t.present()) return status::success();
    if (t.type != dtype::f16 && t.type != dtype::bf16)
        return make_error("tensor '%s': 1-D tensors must be F32, F16 or BF16, not %s",
                          t.name.c_str(), dtype_name(t.type));
    auto buf = std::make_shared<std::vector<float>>(size_t(t.num_elements()));
    const auto* src = static_cast<const uint8_t*>(t.data);
    for (size_t i = 0; i < buf->size(); ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        (*buf)[i] = t.type == dtype::f16 ? float_bits::from_f16(h) : float_bits::from_bf16(h);
    }
    t.type = dtype::f32;
    t.data = buf->data();
    t.num_bytes = buf->size() * sizeof(float);
    storage.push_back(std::move(buf));
    return status::success();
}

std::string shape_text(const std::vector<int64_t>& s) {
    std::string out = "{";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "}";
}

// Drops outer dimensions of size 1 (some writers store a vector as {1, n}).
std::vector<int64_t> squeezed(const std::vector<int64_t>& s) {
    size_t i = 0;
    while (s.size() - i > 1 && s[i] == 1) ++i;
    return {s.begin() + long(i), s.end()};
}

bool is_float_type(dtype t) { return t == dtype::f32 || t == dtype::f16 || t == dtype::bf16; }

// One tensor against the shape the config needs. `name` is the tensor's own name, or the
// GGUF-style name of its role when it was built in memory without one.
status check(const tensor& t, const std::string& name, const char* what,
             std::vector<int64_t> expect, bool matrix) {
    if (!t.present()) return make_error("missing tensor '%s' (%s)", name.c_str(), what);
    std::vector<int64_t> got = squeezed(t.shape);
    if (got != expect)
        return make_error("tensor '%s' has shape %s, but the config needs %s", name.c_str(),
                          shape_text(t.shape).c_str(), shape_text(expect).c_str());
    if (!matrix && !is_float_type(t.type))
        return make_error("tensor '%s' must be F32, F16 or BF16 (is %s)", name.c_str(),
                          dtype_name(t.type));
    const int64_t block = dtype_block_elems(t.type);
    if (matrix && (block == 0 || expect.back() % block != 0))
        return make_error("tensor '%s': row length %lld is not a multiple of %s blocks",
                          name.c_str(), (long long)expect.back(), dtype_name(t.type));
    // A kernel reads rows * row_bytes; a short buffer (a truncated file, a bad view) must
    // fail here, not inside a kernel. Views without a byte count are trusted.
    const int64_t rows = matrix ? expect.front() : 1;
    const size_t need = static_cast<size_t>(rows) * dtype_row_bytes(t.type, expect.back());
    if (t.num_bytes != 0 && t.num_bytes < need)
        return make_error("tensor '%s' holds %zu bytes, its shape needs %zu", name.c_str(),
                          t.num_bytes, need);
    return status::success();
}

const char* gguf_layer_suffix(weight_role r) {
    const char* suffix = "";
    switch (r) {
        case weight_role::attn_norm: suffix = "attn_norm.weight"; break;
        case weight_role::wq: suffix = "attn_q.weight"; break;
        case weight_role::wk: suffix = "attn_k.weight"; break;
        case weight_role::wv: suffix = "attn_v.weight"; break;
        case weight_role::wo: suffix = "attn_output.weight"; break;
        case weight_role::bq: suffix = "attn_q.bias"; break;
        case weight_role::bk: suffix = "attn_k.bias"; break;
        case weight_role::bv: suffix = "attn_v.bias"; break;
        case weight_role::q_norm: suffix = "attn_q_norm.weight"; break;
        case weight_role::k_norm: suffix = "attn_k_norm.weight"; break;
        case weight_role::ffn_norm: suffix = "ffn_norm.weight"; break;
        case weight_role::post_attn_norm: suffix = "post_attention_norm.weight"; break;
        case weight_role::post_ffn_norm: suffix = "post_ffw_norm.weight"; break;
        case weight_role::w_gate: suffix = "ffn_gate.weight"; break;
        case weight_role::w_up: suffix = "ffn_up.weight"; break;
        case weight_role::w_down: suffix = "ffn_down.weight"; break;
        case weight_role::bo: suffix = "attn_output.bias"; break;
        case weight_role::b_up: suffix = "ffn_up.bias"; break;
        case weight_role::b_down: suffix = "ffn_down.bias"; break;
        case weight_role::attn_norm_bias: suffix = "attn_norm.bias"; break;
        case weight_role::ffn_norm_bias: suffix = "ffn_norm.bias"; break;
    }
    return suffix;
}

const char* hf_layer_suffix(weight_role r) {
    const char* suffix = "";
    switch (r) {
        case weight_role::attn_norm: suffix = "input_layernorm.weight"; break;
        case weight_role::wq: suffix = "self_attn.q_proj.weight"; break;
        case weight_role::wk: suffix = "self_attn.k_proj.weight"; break;
        case weight_role::wv: suffix = "self_attn.v_proj.weight"; break;
        case weight_role::wo: suffix = "self_attn.o_proj.weight"; break;
        case weight_role::bq: suffix = "self_attn.q_proj.bias"; break;
        case weight_role::bk: suffix = "self_attn.k_proj.bias"; break;
        case weight_role::bv: suffix = "self_attn.v_proj.bias"; break;
        case weight_role::q_norm: suffix = "self_attn.q_norm.weight"; break;
        case weight_role::k_norm: suffix = "self_attn.k_norm.weight"; break;
        case weight_role::ffn_norm: suffix = "post_attention_layernorm.weight"; break;
        // Gemma 2/3 and OLMo 2 call it post_attention_layernorm, Llama's ffn_norm name:
        // such an architecture renames both in its table entry (architecture.cpp).
        case weight_role::post_attn_norm: suffix = "post_attn_norm.weight"; break;
        case weight_role::post_ffn_norm: suffix = "post_feedforward_layernorm.weight"; break;
        case weight_role::w_gate: suffix = "mlp.gate_proj.weight"; break;
        case weight_role::w_up: suffix = "mlp.up_proj.weight"; break;
        case weight_role::w_down: suffix = "mlp.down_proj.weight"; break;
        case weight_role::bo: suffix = "self_attn.o_proj.bias"; break;
        case weight_role::b_up: suffix = "mlp.up_proj.bias"; break;
        case weight_role::b_down: suffix = "mlp.down_proj.bias"; break;
        case weight_role::attn_norm_bias: suffix = "input_layernorm.bias"; break;
        case weight_role::ffn_norm_bias: suffix = "post_attention_layernorm.bias"; break;
    }
    return suffix;
}

// The architecture's name for `r` where it differs from the common one.
const char* suffix_for(const std::vector<std::pair<weight_role, const char*>>& overrides,
                       weight_role r, const char* common) {
    for (const auto& [role, name] : overrides)
        if (role == r) return name;
    return common;
}

}  // namespace

weight_names gguf_weight_names(model_arch arch) {
    const architecture_info* a = &architecture(arch);
    weight_names n{"token_embd.weight",
            "output_norm.weight",
            "output.weight",
            "position_embd.weight",
            "token_types.weight",
            "token_embd_norm.weight",
            "token_embd_norm.bias",
            [a](int64_t i, weight_role r) {
                return "blk." + std::to_string(i) + "." +
                       suffix_for(a->gguf_names, r, gguf_layer_suffix(r));
            }};
    n.experts = gguf_expert_names();
    return n;
}

weight_names hf_weight_names(model_arch arch) {
    const architecture_info* a = &architecture(arch);
    // Only an encoder (absolute positions) has the embeddings.* tensors (BERT's names).
    weight_names n{a->hf_embedding,
            "model.norm.weight",
            "lm_head.weight",
            "embeddings.position_embeddings.weight",
            "embeddings.token_type_embeddings.weight",
            "embeddings.LayerNorm.weight",
            "embeddings.LayerNorm.bias",
            [a](int64_t i, weight_role r) {
                return a->hf_layer_prefix + std::to_string(i) + "." +
                       suffix_for(a->hf_names, r, hf_layer_suffix(r));
            }};
    n.experts = hf_expert_names(a->hf_layer_prefix, a->hf_router, a->hf_experts,
                                a->hf_expert_matrices);
    return n;
}

bool role_used(const model_config& c, weight_role r) {
    switch (r) {
        case weight_role::bq:
        case weight_role::bk:
        case weight_role::bv: return c.recipe.qkv_bias;
        case weight_role::q_norm:
        case weight_role::k_norm: return c.recipe.qk_norm;
        case weight_role::post_attn_norm: return c.recipe.post_attention_norm;
        case weight_role::post_ffn_norm: return c.recipe.post_ffn_norm;
        case weight_role::w_gate: return c.recipe.gated_ffn;
        case weight_role::bo:
        case weight_role::b_up:
        case weight_role::b_down: return c.recipe.linear_bias;
        case weight_role::attn_norm_bias:
        case weight_role::ffn_norm_bias: return c.recipe.norm == norm_kind::layer;
        default: return true;
    }
}

bool layer_role_used(const model_config& c, int64_t layer, weight_role r) {
    const bool dense_ffn = r == weight_role::w_gate || r == weight_role::w_up ||
                           r == weight_role::w_down || r == weight_role::b_up ||
                           r == weight_role::b_down;
    return role_used(c, r) && !(dense_ffn && layer_is_moe(c, layer));
}

const tensor& layer_tensor(const layer_weights& l, weight_role r) {
    switch (r) {
        case weight_role::attn_norm: return l.attn_norm;
        case weight_role::wq: return l.wq;
        case weight_role::wk: return l.wk;
        case weight_role::wv: return l.wv;
        case weight_role::wo: return l.wo;
        case weight_role::bq: return l.bq;
        case weight_role::bk: return l.bk;
        case weight_role::bv: return l.bv;
        case weight_role::q_norm: return l.q_norm;
        case weight_role::k_norm: return l.k_norm;
        case weight_role::ffn_norm: return l.ffn_norm;
        case weight_role::post_attn_norm: return l.post_attn_norm;
        case weight_role::post_ffn_norm: return l.post_ffn_norm;
        case weight_role::w_gate: return l.w_gate;
        case weight_role::w_up: return l.w_up;
        case weight_role::w_down: return l.w_down;
        case weight_role::bo: return l.bo;
        case weight_role::b_up: return l.b_up;
        case weight_role::b_down: return l.b_down;
        case weight_role::attn_norm_bias: return l.attn_norm_bias;
        case weight_role::ffn_norm_bias: return l.ffn_norm_bias;
    }
    return l.attn_norm;
}

tensor& layer_tensor(layer_weights& l, weight_role r) {
    return const_cast<tensor&>(layer_tensor(static_cast<const layer_weights&>(l), r));
}

status validate_weights(const model_config& c, const model_weights& w, int64_t first_layer,
                        int64_t last_layer) {
    const int64_t h = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
    const int64_t last = last_layer < 0 ? c.num_layers : last_layer;
    if (int64_t(w.layers.size()) != c.num_layers)
        return make_error("weights hold %zu layers, the config says %lld", w.layers.size(),
                          (long long)c.num_layers);
    if (first_layer < 0 || first_layer >= last || last > c.num_layers)
        return make_error("layer range [%lld, %lld) is not inside the model's %lld layers",
                          (long long)first_layer, (long long)last, (long long)c.num_layers);
    auto named = [](const tensor& t, const std::string& fallback) {
        return t.name.empty() ? fallback : t.name;
    };
    if (first_layer == 0)
        if (status s = check(w.token_embedding, named(w.token_embedding, "token_embd.weight"),
                             "token embedding", {c.vocab_size, h}, true);
            !s)
            return s;
    if (first_layer == 0 && c.recipe.positions == position_kind::absolute) {
        if (status s =
                check(w.position_embedding, named(w.position_embedding, "position_embd.weight"),
                      "position embedding", {c.max_position, h}, true);
            !s)
            return s;
        // Token type 0 is the row added; a checkpoint may have one or two types.
        const int64_t types =
            w.token_type_embedding.present() && !w.token_type_embedding.shape.empty()
                ? squeezed(w.token_type_embedding.shape).front()
                : 1;
        if (status s =
                check(w.token_type_embedding, named(w.token_type_embedding, "token_types.weight"),
                      "token type embedding", {types, h}, true);
            !s)
            return s;
        if (status s = check(w.embedding_norm, named(w.embedding_norm, "token_embd_norm.weight"),
                             "embedding norm", {h}, false);
            !s)
            return s;
        if (status s =
                check(w.embedding_norm_bias, named(w.embedding_norm_bias, "token_embd_norm.bias"),
                      "embedding norm bias", {h}, false);
            !s)
            return s;
    }
    // An encoder ends at its last layer's output: no final norm, no lm head.
    if (last == c.num_layers && c.recipe.causal) {
        if (status s = check(w.output_norm, named(w.output_norm, "output_norm.weight"),
                             "output norm", {h}, false);
            !s)
            return s;
        // Tied (or absent, which backends treat as tied): the embedding is the lm head.
        const tensor& head = w.lm_head.present() ? w.lm_head : w.token_embedding;
        if (status s =
                check(head, named(head, "output.weight"), "lm head", {c.vocab_size, h}, true);
            !s)
            return s;
    }
    for (int64_t i = first_layer; i < last; ++i) {
        const layer_weights& l = w.layers[static_cast<size_t>(i)];
        struct item {
            weight_role role;
            const char* what;
            std::vector<int64_t> shape;
            bool matrix;
        };
        const item items[] = {
            {weight_role::attn_norm, "attention norm", {h}, false},
            {weight_role::wq, "query", {q, h}, true},
            {weight_role::wk, "key", {kv, h}, true},
            {weight_role::wv, "value", {kv, h}, true},
            {weight_role::wo, "attention output", {h, q}, true},
            {weight_role::bq, "query bias", {q}, false},
            {weight_role::bk, "key bias", {kv}, false},
            {weight_role::bv, "value bias", {kv}, false},
            {weight_role::q_norm, "query norm", {c.head_dim}, false},
            {weight_role::k_norm, "key norm", {c.head_dim}, false},
            {weight_role::ffn_norm, "ffn norm", {h}, false},
            {weight_role::post_attn_norm, "post-attention norm", {h}, false},
            {weight_role::post_ffn_norm, "post-FFN norm", {h}, false},
            {weight_role::w_gate, "ffn gate", {c.intermediate_size, h}, true},
            {weight_role::w_up, "ffn up", {c.intermediate_size, h}, true},
            {weight_role::w_down, "ffn down", {h, c.intermediate_size}, true},
            {weight_role::bo, "attention output bias", {h}, false},
            {weight_role::b_up, "ffn up bias", {c.intermediate_size}, false},
            {weight_role::b_down, "ffn down bias", {h}, false},
            {weight_role::attn_norm_bias, "attention norm bias", {h}, false},
            {weight_role::ffn_norm_bias, "ffn norm bias", {h}, false},
        };
        for (const item& it : items) {
            if (!layer_role_used(c, i, it.role)) continue;
            const tensor& t = layer_tensor(l, it.role);
            const std::string fallback =
                "blk." + std::to_string(i) + "." + gguf_layer_suffix(it.role);
            if (status s = check(t, named(t, fallback), it.what, it.shape, it.matrix); !s) return s;
        }
        if (layer_is_moe(c, i))
            if (status s = validate_layer_experts(c, i, l); !s) return s;
    }
    return status::success();
}

result<model_weights> bind_weights(const model_config& c, const weight_names& names,
                                   const tensor_lookup& lookup) {
    model_weights w;
    // Fetches `name`; an absent optional tensor keeps its name for messages.
    auto fetch = [&](const std::string& name, tensor& dst, bool required) -> status {
        auto t = lookup(name);
        if (!t) return t.err();
        dst = std::move(*t);
        dst.name = name;
        if (!dst.present()) {
            if (required) return make_error("missing tensor '%s'", name.c_str());
            return status::success();
        }
        dst.shape = squeezed(dst.shape);  // {1, rows, cols} -> {rows, cols}: rows() stays right
        if (dst.shape.size() == 1) return to_f32(dst, w.storage);
        return status::success();
    };
    if (status s = fetch(names.token_embedding, w.token_embedding, true); !s) return s.err();
    if (c.recipe.positions == position_kind::absolute) {
        for (auto [name, dst] : {std::pair{&names.position_embedding, &w.position_embedding},
                                 {&names.token_type_embedding, &w.token_type_embedding},
                                 {&names.embedding_norm, &w.embedding_norm},
                                 {&names.embedding_norm_bias, &w.embedding_norm_bias}})
            if (status s = fetch(*name, *dst, true); !s) return s.err();
    }
    // An encoder's output is its last layer's hidden states: no final norm, no lm head.
    if (c.recipe.causal) {
        if (status s = fetch(names.output_norm, w.output_norm, true); !s) return s.err();
        if (c.tie_word_embeddings) {
            w.lm_head = w.token_embedding;
        } else if (status s = fetch(names.lm_head, w.lm_head, true); !s) {
            return s.err();
        }
    }
    for (int64_t i = 0; i < c.num_layers; ++i) {
        layer_weights l;
        for (weight_role role : all_weight_roles) {
            if (!layer_role_used(c, i, role)) continue;
            if (status s = fetch(names.layer(i, role), layer_tensor(l, role), true); !s)
                return s.err();
        }
        if (layer_is_moe(c, i))
            if (status s = bind_layer_experts(c, i, names.experts, lookup, l); !s) return s.err();
        w.layers.push_back(std::move(l));
    }
    if (status s = validate_weights(c, w); !s) return s.err();
    return w;
}

}  // namespace actorlm

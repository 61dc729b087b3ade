// The architecture table: one entry per supported decoder family, and BERT's encoder. Adding a
// dense variant whose recipe features the backends already run is one model_arch value
// (model_config.hpp) plus one entry here (docs/DEVELOPING.md, "Adding an architecture").
// Immutable after static initialization; any thread.
#include "model/architecture.hpp"

#include "model/architecture_registry.hpp"

namespace actorlm {

namespace {

std::vector<architecture_info> make_table() {
    std::vector<architecture_info> t;
    {
        architecture_info a{model_arch::llama, "llama", {}};
        a.hf_types = {{"llama", "LlamaForCausalLM", hf_window_keys::none},
                      {"mistral", "MistralForCausalLM", hf_window_keys::plain}};
        a.gguf_rope_neox = false;  // llama.cpp's converter interleaves Q/K rows
        a.hf_attention_bias_key = true;
        a.gguf_bias_when_present = true;
        t.push_back(std::move(a));
    }
    {
        architecture_info a{model_arch::qwen2, "qwen2", {}};
        a.gguf_mrope_name = "qwen2vl";
        a.hf_types = {{"qwen2", "Qwen2ForCausalLM", hf_window_keys::qwen}};
        a.recipe.qkv_bias = true;  // always, without a config key
        t.push_back(std::move(a));
    }
    {
        architecture_info a{model_arch::qwen3, "qwen3", {}};
        a.hf_types = {{"qwen3", "Qwen3ForCausalLM", hf_window_keys::qwen}};
        a.recipe.qk_norm = true;
        t.push_back(std::move(a));
    }
    // Gemma 2 and 3: (1 + w) RMSNorms (llama.cpp's converter adds the 1 into GGUF files),
    // a post-norm on the attention and FFN outputs, GeGLU, embeddings times sqrt(hidden).
    // HF calls the post-attention norm post_attention_layernorm (Llama's pre-FFN name) and
    // the pre-FFN norm pre_feedforward_layernorm.
    const std::vector<std::pair<weight_role, const char*>> gemma_hf_names = {
        {weight_role::post_attn_norm, "post_attention_layernorm.weight"},
        {weight_role::ffn_norm, "pre_feedforward_layernorm.weight"}};
    model_recipe gemma;
    gemma.norm_weight = norm_weight_kind::one_plus;
    gemma.activation = ffn_activation::gelu_tanh;
    gemma.post_attention_norm = true;
    gemma.post_ffn_norm = true;
    {
        // Local (sliding window) and global layers alternate, local first; scores and logits
        // soft-capped (Gemma2Config's and llama.cpp's defaults: 50 and 30).
        architecture_info a{model_arch::gemma2, "gemma2", {}};
        a.hf_types = {{"gemma2", "Gemma2ForCausalLM", hf_window_keys::pattern, 2}};
        a.hf_names = gemma_hf_names;
        a.gguf_norms_folded = true;
        a.gguf_sliding_pattern = 2;
        a.gguf_hidden_scale_layers = 46;  // gemma-2-27b
        a.embedding_scale_sqrt_hidden = true;
        a.gemma_keys = true;
        a.writable = false;
        a.recipe = gemma;
        a.recipe.attention_softcap = 50.0f;
        a.recipe.final_logit_softcap = 30.0f;
        t.push_back(std::move(a));
    }
    {
        // Five local layers per global one; Q/K RMSNorm; local layers turn with their own
        // RoPE base (rope_local_base_freq / rope.freq_base_swa, 10000, unscaled).
        architecture_info a{model_arch::gemma3, "gemma3", {}};
        a.hf_types = {{"gemma3_text", "Gemma3ForCausalLM", hf_window_keys::pattern, 6}};
        a.hf_names = gemma_hf_names;
        a.gguf_norms_folded = true;
        a.gguf_sliding_pattern = 6;
        a.gguf_hidden_scale_layers = 62;  // gemma-3-27b
        a.embedding_scale_sqrt_hidden = true;
        a.gemma_keys = true;
        a.sliding_rope = true;
        a.writable = false;
        a.recipe = gemma;
        a.recipe.qk_norm = true;
        t.push_back(std::move(a));
    }
    {
        // Mixtral: Mistral's layer with a top-2-of-8 mixture of experts. llama.cpp's converter
        // writes it as `llama` (Q/K rows permuted) with expert tensors; that GGUF loads as
        // llama with model_config::moe.
        architecture_info a{model_arch::mixtral, "mixtral", {}};
        a.hf_types = {{"mixtral", "MixtralForCausalLM", hf_window_keys::plain}};
        a.gguf_own_name = false;
        a.gguf_rope_neox = false;
        a.hf_moe = hf_moe_keys::mixtral;
        a.hf_router = "block_sparse_moe.gate.weight";
        a.hf_experts = "block_sparse_moe.experts.";
        a.hf_expert_matrices[0] = "w1.weight";
        a.hf_expert_matrices[1] = "w3.weight";
        a.hf_expert_matrices[2] = "w2.weight";
        t.push_back(std::move(a));
    }
    {
        architecture_info a{model_arch::qwen3_moe, "qwen3moe", {}};
        a.hf_types = {{"qwen3_moe", "Qwen3MoeForCausalLM", hf_window_keys::qwen}};
        a.recipe.qk_norm = true;
        a.hf_moe = hf_moe_keys::qwen;
        a.hf_router = "mlp.gate.weight";
        a.hf_experts = "mlp.experts.";
        a.hf_expert_matrices[0] = "gate_proj.weight";
        a.hf_expert_matrices[1] = "up_proj.weight";
        a.hf_expert_matrices[2] = "down_proj.weight";
        t.push_back(std::move(a));
    }
    {
        // BERT-family encoders (BGE, E5, all-MiniLM): embedding models only.
        architecture_info a{model_arch::bert, "bert", {}};
        a.hf_types = {{"bert", "BertModel", hf_window_keys::none}};
        a.gguf_names = {{weight_role::attn_norm, "attn_output_norm.weight"},
                        {weight_role::attn_norm_bias, "attn_output_norm.bias"},
                        {weight_role::ffn_norm, "layer_output_norm.weight"},
                        {weight_role::ffn_norm_bias, "layer_output_norm.bias"}};
        a.hf_names = {{weight_role::wq, "attention.self.query.weight"},
                      {weight_role::bq, "attention.self.query.bias"},
                      {weight_role::wk, "attention.self.key.weight"},
                      {weight_role::bk, "attention.self.key.bias"},
                      {weight_role::wv, "attention.self.value.weight"},
                      {weight_role::bv, "attention.self.value.bias"},
                      {weight_role::wo, "attention.output.dense.weight"},
                      {weight_role::bo, "attention.output.dense.bias"},
                      {weight_role::attn_norm, "attention.output.LayerNorm.weight"},
                      {weight_role::attn_norm_bias, "attention.output.LayerNorm.bias"},
                      {weight_role::w_up, "intermediate.dense.weight"},
                      {weight_role::b_up, "intermediate.dense.bias"},
                      {weight_role::w_down, "output.dense.weight"},
                      {weight_role::b_down, "output.dense.bias"},
                      {weight_role::ffn_norm, "output.LayerNorm.weight"},
                      {weight_role::ffn_norm_bias, "output.LayerNorm.bias"}};
        a.hf_embedding = "embeddings.word_embeddings.weight";
        a.hf_layer_prefix = "encoder.layer.";
        a.hf_optional_prefix = "bert.";
        model_recipe& r = a.recipe;
        r.qkv_bias = true;
        r.linear_bias = true;
        r.norm = norm_kind::layer;
        r.placement = norm_placement::post;
        r.positions = position_kind::absolute;
        r.gated_ffn = false;
        r.activation = ffn_activation::gelu_erf;
        r.causal = false;
        t.push_back(std::move(a));
    }
    return t;
}

const std::vector<architecture_info>& table() {
    static const std::vector<architecture_info> t = make_table();
    return t;
}

}  // namespace

const architecture_info& architecture(model_arch a) {
    for (const architecture_info& e : table())
        if (e.arch == a) return e;
    return table().front();  // unreachable: every value has an entry (see the invariant)
}

const char* model_arch_name(model_arch a) { return architecture(a).name; }

const architecture_info* find_gguf_architecture(std::string_view name) {
    for (const architecture_info& e : table())
        if (e.gguf_own_name &&
            (name == e.name || (e.gguf_mrope_name && name == e.gguf_mrope_name)))
            return &e;
    return find_registered_gguf_architecture(name);  // plugins' (architecture_registry.hpp)
}

std::pair<const architecture_info*, const hf_model_type*> find_hf_model_type(
    std::string_view model_type) {
    for (const architecture_info& e : table())
        for (const hf_model_type& h : e.hf_types)
            if (model_type == h.model_type) return {&e, &h};
    return find_registered_hf_model_type(model_type);  // plugins'
}

std::string gguf_architecture_names() {
    std::string s;
    for (const architecture_info& e : table()) {
        if (!e.gguf_own_name) continue;
        s += (s.empty() ? "" : ", ") + std::string(e.name);
        if (e.gguf_mrope_name) s += ", " + std::string(e.gguf_mrope_name);
    }
    for (const std::string& n : registered_architecture_names()) s += ", " + n;  // plugins'
    return s;
}

std::vector<std::string> hf_model_type_list() {
    std::vector<std::string> v;
    for (const architecture_info& e : table())
        for (const hf_model_type& h : e.hf_types) v.emplace_back(h.model_type);
    for (std::string& t : registered_hf_model_types()) v.push_back(std::move(t));  // plugins'
    return v;
}

std::string hf_model_type_names() {
    std::string s;
    for (const std::string& t : hf_model_type_list()) s += (s.empty() ? "" : ", ") + t;
    return s;
}

}  // namespace actorlm

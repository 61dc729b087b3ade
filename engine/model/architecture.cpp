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
        if (name == e.name || (e.gguf_mrope_name && name == e.gguf_mrope_name)) return &e;
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

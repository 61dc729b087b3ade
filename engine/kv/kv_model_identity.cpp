// kv_model_identity implementation: XXH3-128 digests over length-prefixed fields.
#include "kv/kv_model_identity.hpp"

#include "model/content_digest.hpp"

#include <algorithm>
#include <cstdio>

namespace actorlm::kv {

std::string model_weights_fingerprint(const model_weights& w) {
    content_digest d;
    d.tensor_sample(w.token_embedding);
    d.tensor_sample(w.output_norm);
    d.tensor_sample(w.lm_head);
    for (const auto& l : w.layers)
        for (const tensor* t : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv,
                                &l.q_norm, &l.k_norm, &l.ffn_norm, &l.w_gate, &l.w_up, &l.w_down})
            d.tensor_sample(*t);
    return d.hex();
}

std::string tokenizer_fingerprint(const tokenizer& tok) {
    content_digest d;
    d.i64(tok.vocab_size());
    for (int32_t id = 0; id < tok.vocab_size(); ++id) d.str(tok.token_text(id));
    d.i64(tok.bos_id());
    for (int32_t e : tok.eos_ids()) d.i64(e);
    return d.hex();
}

std::string model_architecture_key(const model_config& mc) {
    char arch[512];
    std::snprintf(arch, sizeof(arch),
                  "arch=%d vocab=%lld hidden=%lld ffn=%lld layers=%lld heads=%lld kv_heads=%lld "
                  "head_dim=%lld eps=%a theta=%a neox=%d bias=%d qk_norm=%d recipe=%u "
                  "scales=%a,%a,%a,%a name=%s",
                  static_cast<int>(mc.arch), static_cast<long long>(mc.vocab_size),
                  static_cast<long long>(mc.hidden_size),
                  static_cast<long long>(mc.intermediate_size),
                  static_cast<long long>(mc.num_layers), static_cast<long long>(mc.num_heads),
                  static_cast<long long>(mc.num_kv_heads), static_cast<long long>(mc.head_dim),
                  static_cast<double>(mc.rms_norm_eps), static_cast<double>(mc.rope_theta),
                  mc.rope_neox ? 1 : 0, mc.recipe.qkv_bias ? 1 : 0, mc.recipe.qk_norm ? 1 : 0,
                  recipe_features(mc.recipe), static_cast<double>(mc.recipe.embedding_scale),
                  static_cast<double>(mc.recipe.attention_scale),
                  static_cast<double>(mc.recipe.attention_softcap),
                  static_cast<double>(mc.recipe.final_logit_softcap), mc.name.c_str());
    std::string key = arch;
    // What changes the K/V of later layers without changing a weight: the sliding window
    // and which layers slide, local layers' RoPE, and the experts' routing.
    std::string slides;
    for (int64_t l = 0; l < mc.num_layers; ++l)
        slides += layer_attention_window(mc, l) > 0 ? 'S' : 'F';
    char attention[256];
    std::snprintf(attention, sizeof(attention),
                  " window=%d local_theta=%a experts=%lld/%lld/%lld norm_top_k=%d layers=",
                  mc.sliding_window, static_cast<double>(mc.sliding_rope_theta),
                  static_cast<long long>(mc.moe.num_experts),
                  static_cast<long long>(mc.moe.num_experts_used),
                  static_cast<long long>(mc.moe.expert_intermediate_size),
                  mc.moe.normalize_top_k ? 1 : 0);
    return key + attention + slides;
}

core::model_identity make_model_identity(const model_config& mc,
                                         const std::string& weights_fingerprint,
                                         const kv_cache_spec& kv, const tokenizer& tok) {
    core::model_identity id;
    id.weights_fingerprint = weights_fingerprint;
    id.architecture = model_architecture_key(mc);
    id.kv_dtype = dtype_name(kv.type);
    id.block_size = kv.block_size;
    id.tokenizer_fingerprint = tokenizer_fingerprint(tok);
    return id;
}

}  // namespace actorlm::kv

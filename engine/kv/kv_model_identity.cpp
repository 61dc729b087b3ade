// kv_model_identity implementation: XXH3-128 digests over length-prefixed fields.
#include "kv/kv_model_identity.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>

namespace actorlm::kv {
namespace {

class digest {
public:
    digest() : st_(XXH3_createState()) { XXH3_128bits_reset(st_); }
    ~digest() { XXH3_freeState(st_); }
    digest(const digest&) = delete;
    digest& operator=(const digest&) = delete;

    void bytes(const void* p, size_t n) {
        const uint64_t len = n;
        XXH3_128bits_update(st_, &len, sizeof(len));
        if (n > 0) XXH3_128bits_update(st_, p, n);
    }
    void str(const std::string& s) { bytes(s.data(), s.size()); }
    void i64(int64_t v) { bytes(&v, sizeof(v)); }
    std::string hex() const {
        XXH128_hash_t h = XXH3_128bits_digest(st_);
        return core::to_hex(core::block_hash{h.low64, h.high64});
    }

private:
    XXH3_state_t* st_;
};

void add_tensor(digest& d, const tensor& t) {
    d.str(t.name);
    d.i64(static_cast<int64_t>(t.type));
    d.i64(static_cast<int64_t>(t.shape.size()));
    for (int64_t x : t.shape) d.i64(x);
    if (!t.present()) return;
    const auto* p = static_cast<const uint8_t*>(t.data);
    constexpr size_t k_sample = 4096;
    const size_t n = t.num_bytes;
    const size_t take = std::min(n, k_sample);
    d.bytes(p, take);
    if (n > take) d.bytes(p + (n - take) / 2, take);
    if (n > take) d.bytes(p + n - take, take);
}

}  // namespace

std::string model_weights_fingerprint(const model_weights& w) {
    digest d;
    add_tensor(d, w.token_embedding);
    add_tensor(d, w.output_norm);
    add_tensor(d, w.lm_head);
    for (const auto& l : w.layers)
        for (const tensor* t : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv,
                                &l.q_norm, &l.k_norm, &l.ffn_norm, &l.w_gate, &l.w_up, &l.w_down})
            add_tensor(d, *t);
    return d.hex();
}

std::string tokenizer_fingerprint(const tokenizer& tok) {
    digest d;
    d.i64(tok.vocab_size());
    for (int32_t id = 0; id < tok.vocab_size(); ++id) d.str(tok.token_text(id));
    d.i64(tok.bos_id());
    for (int32_t e : tok.eos_ids()) d.i64(e);
    return d.hex();
}

core::model_identity make_model_identity(const model_config& mc,
                                         const std::string& weights_fingerprint,
                                         const kv_cache_spec& kv, const tokenizer& tok) {
    core::model_identity id;
    id.weights_fingerprint = weights_fingerprint;
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
    id.architecture = arch;
    id.kv_dtype = dtype_name(kv.type);
    id.block_size = kv.block_size;
    id.tokenizer_fingerprint = tokenizer_fingerprint(tok);
    return id;
}

}  // namespace actorlm::kv

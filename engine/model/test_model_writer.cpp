// Random weights from splitmix64 + Box-Muller (the same numbers on every platform,
// unlike std::normal_distribution), drawn in a fixed tensor order. Norm weights
// are 1 +- small multiples of 1/128 (exact in F16 and BF16) so that a wrong norm
// or a mixed-up tensor changes the output.
#include "model/test_model_writer.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include "model/architecture.hpp"
#include "model/model_writer.hpp"
#include "model/tensor_codec.hpp"
#include "model/weight_binding.hpp"

namespace actorlm {

namespace {

class normal_rng {
public:
    explicit normal_rng(uint64_t seed) : state_(seed) {}
    double next() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u1 = uniform(), u2 = uniform();
        double r = std::sqrt(-2.0 * std::log(u1));
        spare_ = r * std::sin(2.0 * M_PI * u2);
        has_spare_ = true;
        return r * std::cos(2.0 * M_PI * u2);
    }

private:
    double uniform() {  // (0, 1]
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        return (double(z >> 11) + 1.0) * 0x1.0p-53;
    }
    uint64_t state_;
    double spare_ = 0;
    bool has_spare_ = false;
};

// Rounds values through `t` so that storing them as `t` is lossless.
void round_through(dtype t, std::vector<float>& v, int64_t cols, bool matrix) {
    if (t == dtype::f32 || (t == dtype::q8_0 && !matrix)) return;
    if (t == dtype::q8_0 && cols % 32 != 0) return;
    std::vector<uint8_t> enc = encode_f32(t, v.data(), int64_t(v.size()));
    decode_f32(t, enc.data(), int64_t(v.size()), v.data());
}

}  // namespace

std::vector<std::string> test_model_preset_names() { return {"tiny", "smollm2-135m"}; }

result<test_model_spec> test_model_preset(const std::string& name) {
    test_model_spec s;
    if (name == "tiny") return s;
    if (name == "smollm2-135m") {
        s.hidden_size = 576;
        s.num_layers = 30;
        s.num_heads = 9;
        s.num_kv_heads = 3;
        s.head_dim = 64;
        s.intermediate_size = 1536;
        s.vocab_size = 49152;
        s.tie_word_embeddings = true;
        s.rope_theta = 100000.0f;
        s.max_position = 2048;
        s.name = "smollm2-135m-random";
        return s;
    }
    return make_error("unknown test model preset '%s' (known: tiny, smollm2-135m)", name.c_str());
}

result<test_model> generate_test_model(const test_model_spec& s) {
    test_model m;
    model_config& c = m.config;
    const architecture_info* arch = find_hf_model_type(s.arch).first;
    if (!arch)
        return make_error("unknown architecture '%s' (known: %s)", s.arch.c_str(),
                          hf_model_type_names().c_str());
    if (!arch->recipe.causal)
        return make_error(
            "'%s' is an encoder: test models are decoders (%s's test data is "
            "made with transformers, tools/make-bert-references.py)",
            s.arch.c_str(), s.arch.c_str());
    if (!arch->writable)
        return make_error(
            "'%s' test models cannot be written yet (the writers lack its own "
            "keys; its test data is made with transformers, "
            "tools/make-gemma-references.py)",
            s.arch.c_str());
    c.arch = arch->arch;
    c.recipe = arch->recipe;
    for (auto [v, what] : {std::pair{s.vocab_size, "vocab size"},
                           {s.hidden_size, "hidden size"},
                           {s.intermediate_size, "FFN size"},
                           {s.num_layers, "layer count"},
                           {s.num_heads, "head count"},
                           {s.num_kv_heads, "KV head count"},
                           {s.head_dim, "head dim"},
                           {s.max_position, "context length"}})
        if (v <= 0 || v > (int64_t(1) << 24))
            return make_error("%s %lld is out of range", what, (long long)v);
    if (s.num_heads % s.num_kv_heads != 0)
        return make_error("head count %lld is not a multiple of KV head count %lld",
                          (long long)s.num_heads, (long long)s.num_kv_heads);
    if (s.head_dim % 2 != 0) return make_error("head dim %lld must be even", (long long)s.head_dim);
    if (s.sliding_window < 0)
        return make_error("sliding window %d must not be negative", int(s.sliding_window));
    if (!can_encode(s.weight_type))
        return make_error("weight type %s is not supported (F32, F16, BF16, Q8_0)",
                          dtype_name(s.weight_type));
    if (s.weight_type == dtype::q8_0 &&
        (s.hidden_size % 32 || s.intermediate_size % 32 || (s.num_heads * s.head_dim) % 32))
        return make_error("Q8_0 needs hidden size, FFN size and heads*head_dim divisible by 32");
    auto vocab = make_test_vocab(s.vocab_size, s.seed);
    if (!vocab) return vocab.err();
    m.vocab = std::move(*vocab);
    m.hf_model_type = s.arch;
    m.weight_type = s.weight_type;

    c.vocab_size = s.vocab_size;
    c.hidden_size = s.hidden_size;
    c.intermediate_size = s.intermediate_size;
    c.num_layers = s.num_layers;
    c.num_heads = s.num_heads;
    c.num_kv_heads = s.num_kv_heads;
    c.head_dim = s.head_dim;
    c.max_position = s.max_position;
    c.rms_norm_eps = s.rms_norm_eps;
    c.rope_theta = s.rope_theta;
    c.rope_neox = true;
    c.tie_word_embeddings = s.tie_word_embeddings;
    c.sliding_window = s.sliding_window;
    c.bos_token_id = m.vocab.bos_token_id;
    c.eos_token_ids = {m.vocab.eos_token_id};
    c.name = s.name.empty() ? s.arch + "-test" : s.name;

    normal_rng rng(s.seed);
    model_weights& w = m.weights;
    auto make = [&](std::vector<int64_t> shape, bool norm) {
        tensor t;
        t.type = dtype::f32;
        t.shape = shape;
        auto buf = std::make_shared<std::vector<float>>(size_t(t.num_elements()));
        for (float& x : *buf) {
            double r = rng.next();
            // Norms: 1 + k/128, |k| <= 32; matrices and biases: normal(0, std).
            x = norm ? float(1.0 + std::clamp(std::round(r * 0.1 * 128.0), -32.0, 32.0) / 128.0)
                     : float(r * s.init_std);
        }
        round_through(s.weight_type, *buf, t.cols(), shape.size() == 2);
        t.data = buf->data();
        t.num_bytes = buf->size() * sizeof(float);
        w.storage.push_back(buf);
        return t;
    };
    const int64_t h = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
    w.token_embedding = make({c.vocab_size, h}, false);
    w.output_norm = make({h}, true);
    w.lm_head = c.tie_word_embeddings ? w.token_embedding : make({c.vocab_size, h}, false);
    for (int64_t i = 0; i < c.num_layers; ++i) {
        layer_weights l;
        l.attn_norm = make({h}, true);
        l.wq = make({q, h}, false);
        l.wk = make({kv, h}, false);
        l.wv = make({kv, h}, false);
        l.wo = make({h, q}, false);
        if (c.recipe.qkv_bias) {
            l.bq = make({q}, false);
            l.bk = make({kv}, false);
            l.bv = make({kv}, false);
        }
        if (c.recipe.qk_norm) {
            l.q_norm = make({c.head_dim}, true);
            l.k_norm = make({c.head_dim}, true);
        }
        l.ffn_norm = make({h}, true);
        if (c.recipe.post_attention_norm) l.post_attn_norm = make({h}, true);
        if (c.recipe.post_ffn_norm) l.post_ffn_norm = make({h}, true);
        l.w_gate = make({c.intermediate_size, h}, false);
        l.w_up = make({c.intermediate_size, h}, false);
        l.w_down = make({h, c.intermediate_size}, false);
        w.layers.push_back(std::move(l));
    }
    const weight_names names = hf_weight_names(c.arch);
    w.token_embedding.name = names.token_embedding;
    w.output_norm.name = names.output_norm;
    w.lm_head.name = c.tie_word_embeddings ? names.token_embedding : names.lm_head;
    for (size_t i = 0; i < w.layers.size(); ++i)
        for (weight_role r : all_weight_roles)
            layer_tensor(w.layers[i], r).name = names.layer(int64_t(i), r);
    return m;
}

status write_test_model_gguf(const test_model_spec& spec, const std::string& path) {
    auto m = generate_test_model(spec);
    if (!m) return m.err();
    model_write_options opt;
    opt.matrix_type = spec.weight_type;
    opt.vocab = &m->vocab;
    opt.description = "random normal(0, " + std::to_string(spec.init_std) + ") weights, seed " +
                      std::to_string(spec.seed) + ", made by actorlm make-test-model (not trained)";
    return write_gguf_model(m->config, m->weights, path, opt);
}

status write_test_model_hf(const test_model_spec& spec, const std::string& dir) {
    auto m = generate_test_model(spec);
    if (!m) return m.err();
    model_write_options opt;
    opt.matrix_type = spec.weight_type == dtype::q8_0 ? dtype::f32 : spec.weight_type;
    opt.vocab = &m->vocab;
    opt.hf_model_type = m->hf_model_type;
    return write_hf_model(m->config, m->weights, dir, opt);
}

}  // namespace actorlm

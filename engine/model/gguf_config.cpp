// GGUF metadata -> model_config. The architecture table says per general.architecture
// which recipe applies and whether llama.cpp's converter permuted Q/K rows into
// interleaved-pair RoPE order (`llama`: rope_neox = false; qwen2/qwen3: NeoX halves).
// An architecture's M-RoPE name (`qwen2vl`) adds the rotary sections.
// Gemma files (gemma2, gemma3) follow llama.cpp: norms with the 1 already added, fixed
// local/global patterns, soft-cap keys, Gemma 3's rope.freq_base_swa (read_gemma_keys).
#include "model/gguf_config.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>

#include "model/architecture.hpp"
#include "model/ggml_types.hpp"

namespace actorlm {

namespace {

// The per-dimension divisors llama3 rope scaling applies, as llama.cpp's converter computes
// them into `rope_freqs` (Meta's apply_scaling).
float llama3_divisor(const model_config& c, int64_t i) {
    const rope_scaling& rs = c.rope_scaling;
    double freq = std::pow(double(c.rope_theta), -2.0 * double(i) / double(c.head_dim));
    double wavelen = 2.0 * M_PI / freq;
    double low_wavelen = double(rs.original_max_position) / rs.low_freq_factor;
    double high_wavelen = double(rs.original_max_position) / rs.high_freq_factor;
    if (wavelen < high_wavelen) return 1.0f;
    if (wavelen > low_wavelen) return rs.factor;
    double smooth = (double(rs.original_max_position) / wavelen - rs.low_freq_factor) /
                    (rs.high_freq_factor - rs.low_freq_factor);
    return float(1.0 / ((1.0 - smooth) / rs.factor + smooth));
}

bool reproduces(const model_config& c, const std::vector<float>& divisors) {
    for (size_t i = 0; i < divisors.size(); ++i)
        if (std::fabs(llama3_divisor(c, int64_t(i)) - divisors[i]) > 1e-3f * divisors[i])
            return false;
    return true;
}

// Recovers llama3 scaling from the rope_freqs tensor: factor = the largest divisor. Meta's
// published parameters (low 1, high 4, original 8192) are tried first; otherwise the
// smooth band, linear in 1/wavelength, is fitted to the interior points (two or more fix
// it; with fewer, low 1 and high 4 are assumed). Every fit is checked to reproduce the tensor.
status rope_from_freqs(const gguf_tensor_info& t, model_config& c) {
    if (t.ggml_type != 0 || t.shape.size() != 1 || t.shape[0] != c.head_dim / 2)
        return make_error("rope_freqs must be an F32 tensor of head_dim/2 = %lld values",
                          (long long)(c.head_dim / 2));
    std::vector<float> d(size_t(t.shape[0]));
    std::memcpy(d.data(), t.data, d.size() * sizeof(float));
    float factor = 1.0f;
    for (float x : d) factor = std::max(factor, x);
    if (factor == 1.0f) return status::success();  // all ones: no scaling
    rope_scaling& rs = c.rope_scaling;
    rs.type = rope_scaling_type::llama3;
    rs.factor = factor;
    if (reproduces(c, d)) return status::success();
    struct point {
        double wavelen, smooth;
    };
    std::vector<point> pts;
    double max_one = 0, min_full = 1e300;
    for (size_t i = 0; i < d.size(); ++i) {
        double wavelen =
            2.0 * M_PI / std::pow(double(c.rope_theta), -2.0 * double(i) / double(c.head_dim));
        if (d[i] <= 1.0f + 1e-6f)
            max_one = std::max(max_one, wavelen);
        else if (d[i] >= factor - 1e-6f)
            min_full = std::min(min_full, wavelen);
        else
            pts.push_back({wavelen, (1.0 / d[i] - 1.0 / factor) / (1.0 - 1.0 / factor)});
    }
    rs.low_freq_factor = 1.0f;
    rs.high_freq_factor = 4.0f;
    double orig = 0;
    if (pts.size() >=
        2) {  // smooth = a / wavelen + b, with a = orig / (high - low), b = -low / (high - low)
        double x0 = 1.0 / pts.front().wavelen, x1 = 1.0 / pts.back().wavelen;
        double a = (pts.back().smooth - pts.front().smooth) / (x1 - x0);
        double b = pts.front().smooth - a * x0;
        if (b < 0 && a > 0) {
            rs.high_freq_factor = float(1.0 - 1.0 / b);
            orig = a * (-1.0 / b);
        }
    } else if (pts.size() == 1) {  // smooth = (orig / wavelen - 1) / 3
        orig = pts[0].wavelen * (3.0 * pts[0].smooth + 1.0);
    } else {  // no band: orig/4 above the longest unscaled wavelength, orig below the shortest
              // scaled
        orig = (4.0 * max_one + min_full) / 2.0;
    }
    rs.original_max_position = int64_t(std::llround(orig));
    if (orig > 0 && reproduces(c, d)) return status::success();
    return make_error("rope_freqs tensor does not follow llama3 rope scaling");
}

// llama.cpp's `<arch>.rope.dimension_sections`: four sections in rotary pairs (temporal,
// height, width, and a fourth that Qwen2-VL / Qwen2.5-VL leave 0; llama.cpp requires
// exactly four). The first three are transformers' mrope_section.
status read_mrope_sections(const gguf_file& f, const std::string& key, model_config& c) {
    if (!f.has(key))
        return make_error("%s: missing %s (the M-RoPE sections; llama.cpp requires them)",
                          f.path().c_str(), key.c_str());
    const std::vector<int32_t> v = f.get_int_array(key);
    const auto info = f.array_info(key);
    std::string list;
    for (int32_t x : v) list += (list.empty() ? "" : ", ") + std::to_string(x);
    const bool four = info && info->second == 4 && v.size() == 4;
    if (!four || v[3] != 0 || *std::min_element(v.begin(), v.end()) < 0)
        return make_error("%s: %s [%s] must be 4 non-negative integers, the 4th 0",
                          f.path().c_str(), key.c_str(), list.c_str());
    c.mrope_section.assign(v.begin(), v.begin() + 3);
    if (status s = check_mrope_section(c); !s)
        return make_error("%s: %s: %s", f.path().c_str(), key.c_str(), s.message().c_str());
    return status::success();
}

// llama.cpp's `<arch>.pooling_type` (enum llama_pooling_type: 0 none, 1 mean, 2 cls, 3 last,
// 4 rank), as its converter writes it from a sentence-transformers directory. llama.cpp
// normalizes embeddings by default, so the vector is normalized. None or absent: unset.
status read_pooling_type(const gguf_file& f, const std::string& key, model_config& c) {
    if (!f.has(key)) return status::success();
    const auto v = f.get_int(key);
    using kind = pooling_params::kind;
    if (v && *v == 0) return status::success();
    if (v && *v >= 1 && *v <= 3) {
        const kind k = *v == 1 ? kind::mean : *v == 2 ? kind::cls : kind::last;
        c.pooling = pooling_params{k, true};
        return status::success();
    }
    return make_error(
        "%s: %s %lld is not supported (0 none, 1 mean, 2 cls, 3 last; 4 rank, a "
        "reranker's, is not)",
        f.path().c_str(), key.c_str(), (long long)v.value_or(-1));
}

// Gemma 2 / 3 as llama.cpp's converter writes them: norm weights with the 1 added (plain
// norms here), embeddings times sqrt(hidden), optional soft-caps (absent: llama.cpp's
// defaults, which the table's recipe holds; 0: none), scores scaled by 1/sqrt(head_dim)
// except for the 27B (GGUF has no query_pre_attn_scalar; llama.cpp decides by the layer
// count), and Gemma 3's local layers turning with rope.freq_base_swa (default 10000), unscaled.
status read_gemma_keys(const gguf_file& f, const architecture_info& info, const std::string& p,
                       model_config& c) {
    if (info.gguf_norms_folded) c.recipe.norm_weight = norm_weight_kind::plain;
    if (info.embedding_scale_sqrt_hidden)
        c.recipe.embedding_scale = std::sqrt(static_cast<float>(c.hidden_size));
    if (info.gemma_keys) {
        for (auto [key, dst] : {std::pair{"attn_logit_softcapping", &c.recipe.attention_softcap},
                                {"final_logit_softcapping", &c.recipe.final_logit_softcap}}) {
            if (!f.has(p + key)) continue;
            auto v = f.get_float(p + key);
            if (!v || !(*v >= 0) || !std::isfinite(*v))
                return make_error("%s: %s%s must be a non-negative number", f.path().c_str(),
                                  p.c_str(), key);
            *dst = float(*v);
        }
        if (info.gguf_hidden_scale_layers == c.num_layers)
            c.recipe.attention_scale =
                1.0f / std::sqrt(static_cast<float>(c.hidden_size / c.num_heads));
    }
    if (info.sliding_rope && c.sliding_window > 0) {
        const std::string key = p + "rope.freq_base_swa";
        const double theta = f.get_float(key).value_or(10000.0);
        if (f.has(key) && !f.get_float(key))
            return make_error("%s: %s must be a number", f.path().c_str(), key.c_str());
        if (!(theta > 0)) return make_error("%s: %s must be > 0", f.path().c_str(), key.c_str());
        if (float(theta) != c.rope_theta || c.rope_scaling.type != rope_scaling_type::none)
            c.sliding_rope_theta = float(theta);
    }
    return status::success();
}

}  // namespace

std::vector<float> llama3_rope_divisors(const model_config& c) {
    std::vector<float> d(size_t(c.head_dim / 2));
    for (size_t i = 0; i < d.size(); ++i) d[i] = llama3_divisor(c, int64_t(i));
    return d;
}

result<model_config> config_from_gguf(const gguf_file& f) {
    model_config c;
    auto arch = f.get_string("general.architecture");
    if (!arch) return make_error("%s: missing general.architecture", f.path().c_str());
    const architecture_info* info = find_gguf_architecture(*arch);
    if (!info)
        return make_error("%s: architecture '%s' is not supported (supported: %s)",
                          f.path().c_str(), arch->c_str(), gguf_architecture_names().c_str());
    c.arch = info->arch;
    c.rope_neox = info->gguf_rope_neox;
    c.recipe = info->recipe;
    if (info->gguf_bias_when_present && f.find_tensor("blk.0.attn_q.bias"))
        c.recipe.qkv_bias = true;  // llama.cpp loads llama Q/K/V biases when present
    const std::string p = *arch + ".";
    auto need = [&](const char* key, int64_t& dst) -> status {
        auto v = f.get_int(p + key);
        if (!v || *v <= 0)
            return make_error("%s: missing or invalid %s%s", f.path().c_str(), p.c_str(), key);
        const int64_t limit = &dst == &c.num_layers ? k_max_config_layers : k_max_config_dim;
        if (*v > limit)
            return make_error("%s: %s%s %lld is above the limit %lld", f.path().c_str(),
                              p.c_str(), key, (long long)*v, (long long)limit);
        dst = *v;
        return status::success();
    };
    for (auto [key, dst] : {std::pair<const char*, int64_t*>{"embedding_length", &c.hidden_size},
                            {"block_count", &c.num_layers},
                            {"attention.head_count", &c.num_heads},
                            {"feed_forward_length", &c.intermediate_size}})
        if (status s = need(key, *dst); !s) return s.err();
    c.num_kv_heads = f.get_int(p + "attention.head_count_kv").value_or(c.num_heads);
    c.head_dim = f.get_int(p + "attention.key_length").value_or(c.hidden_size / c.num_heads);
    if (c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0)
        return make_error("%s: head_count %lld is not a multiple of head_count_kv %lld",
                          f.path().c_str(), (long long)c.num_heads, (long long)c.num_kv_heads);
    if (c.head_dim <= 0 || c.head_dim % 2 != 0 || c.head_dim > k_max_config_dim)
        return make_error("%s: head dimension %lld must be positive, even and at most 2^24",
                          f.path().c_str(), (long long)c.head_dim);
    if (auto v = f.get_int(p + "attention.value_length"); v && *v != c.head_dim)
        return make_error("%s: value_length %lld differs from key_length %lld (not supported)",
                          f.path().c_str(), (long long)*v, (long long)c.head_dim);
    if (auto v = f.get_int(p + "rope.dimension_count"); v && *v != c.head_dim)
        return make_error("%s: partial RoPE (rope.dimension_count %lld of %lld) is not supported",
                          f.path().c_str(), (long long)*v, (long long)c.head_dim);
    // llama.cpp reads the sections only under the M-RoPE name; a plain qwen2 file that
    // carries them runs ordinary RoPE there, and here.
    if (info->gguf_mrope_name && *arch == info->gguf_mrope_name) {
        if (status s = read_mrope_sections(f, p + "rope.dimension_sections", c); !s) return s.err();
    }
    c.max_position = f.get_int(p + "context_length").value_or(c.max_position);
    c.rope_theta = float(f.get_float(p + "rope.freq_base").value_or(10000.0));
    c.rms_norm_eps = float(
        f.get_float(p + (c.recipe.norm == norm_kind::layer ? "attention.layer_norm_epsilon"
                                                           : "attention.layer_norm_rms_epsilon"))
            .value_or(c.recipe.norm == norm_kind::layer ? 1e-12 : 1e-5));
    if (status s = read_pooling_type(f, p + "pooling_type", c); !s) return s.err();
    if (status s = read_gguf_moe_config(f, p, c); !s) return s.err();
    // llama.cpp's sliding window (LLAMA_SWA_TYPE_STANDARD when set on every layer); 0 = none.
    // A per-layer pattern (Gemma's sliding_window_pattern) or chunked attention we do not run.
    if (f.has(p + "attention.sliding_window")) {
        auto w = f.get_int(p + "attention.sliding_window");
        if (!w || *w < 0 || *w > INT32_MAX)
            return make_error("%s: %sattention.sliding_window must be an integer in [0, 2^31)",
                              f.path().c_str(), p.c_str());
        c.sliding_window = int32_t(*w);
    }
    // Gemma: llama.cpp's fixed pattern (every n-th layer global, the others slide).
    if (c.sliding_window > 0 && info->gguf_sliding_pattern > 0) {
        const int64_t n = info->gguf_sliding_pattern;
        c.sliding_layers.assign(size_t(c.num_layers), false);
        for (int64_t l = 0; l < c.num_layers; ++l) c.sliding_layers[size_t(l)] = l % n < n - 1;
    }
    for (const char* key : {"attention.sliding_window_pattern", "attention.chunk_size"})
        if (f.has(p + key))
            return make_error(
                "%s: %s%s (a per-layer or chunked attention window) is not "
                "supported",
                f.path().c_str(), p.c_str(), key);

    std::string scaling = f.get_string(p + "rope.scaling.type").value_or("none");
    if (scaling == "linear") {
        c.rope_scaling.type = rope_scaling_type::linear;
        c.rope_scaling.factor = float(f.get_float(p + "rope.scaling.factor").value_or(1.0));
        if (c.rope_scaling.factor <= 0)
            return make_error("%s: rope.scaling.factor must be > 0", f.path().c_str());
    } else if (scaling != "none") {
        return make_error(
            "%s: rope scaling type '%s' is not supported (supported: none, linear, "
            "llama3 via rope_freqs)",
            f.path().c_str(), scaling.c_str());
    }
    if (const gguf_tensor_info* t = f.find_tensor("rope_freqs.weight")) {
        if (c.rope_scaling.type != rope_scaling_type::none)
            return make_error("%s: both rope.scaling.type and rope_freqs are set",
                              f.path().c_str());
        if (status s = rope_from_freqs(*t, c); !s)
            return make_error("%s: %s", f.path().c_str(), s.message().c_str());
    }

    if (status s = read_gemma_keys(f, *info, p, c); !s) return s.err();

    const gguf_tensor_info* emb = f.find_tensor("token_embd.weight");
    if (!emb || emb->shape.size() != 2)
        return make_error("%s: missing 2-D tensor token_embd.weight", f.path().c_str());
    c.vocab_size = emb->shape[0];
    auto tokens = f.array_info("tokenizer.ggml.tokens");
    if (tokens && tokens->second > uint64_t(c.vocab_size))
        return make_error("%s: %llu tokens but token_embd.weight has only %lld rows",
                          f.path().c_str(), (unsigned long long)tokens->second,
                          (long long)c.vocab_size);
    // Tied when output.weight is absent, or a byte-identical copy of the embedding (llama2.c
    // exports such as stories260K store the shared classifier twice).
    const gguf_tensor_info* out = f.find_tensor("output.weight");
    c.tie_word_embeddings =
        out == nullptr || (out->ggml_type == emb->ggml_type && out->shape == emb->shape &&
                           std::memcmp(out->data, emb->data, emb->num_bytes) == 0);
    c.bos_token_id = int32_t(f.get_int("tokenizer.ggml.bos_token_id").value_or(-1));
    // llama.cpp also stops at end-of-turn / end-of-message tokens (Llama 3 chat).
    for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                            "tokenizer.ggml.eom_token_id"}) {
        auto v = f.get_int(key);
        if (v && *v >= 0 &&
            std::find(c.eos_token_ids.begin(), c.eos_token_ids.end(), *v) == c.eos_token_ids.end())
            c.eos_token_ids.push_back(int32_t(*v));
    }
    c.name = f.get_string("general.name").value_or("");
    return c;
}

}  // namespace actorlm

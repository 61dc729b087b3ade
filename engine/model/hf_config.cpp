// config.json -> model_config. Defaults follow transformers' LlamaConfig /
// Qwen2Config / Qwen3Config where a key is optional (num_key_value_heads,
// head_dim, rope_theta, rms_norm_eps, tie_word_embeddings).
#include "model/hf_config.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <simdjson.h>

namespace actorlm {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

bool is_null(object o, const char* key) {
    element e;
    return o[key].get(e) != simdjson::SUCCESS || e.is_null();
}

result<int64_t> get_int(object o, const char* key) {
    element e;
    if (o[key].get(e) || e.is_null()) return make_error("config.json: missing '%s'", key);
    int64_t v = 0;
    if (e.get(v) || v < 0) {
        uint64_t u = 0;
        if (e.get(u) || u > static_cast<uint64_t>(INT64_MAX))
            return make_error("config.json: '%s' must be a non-negative integer", key);
        v = static_cast<int64_t>(u);
    }
    return v;
}

result<double> get_number(object o, const char* key, double fallback) {
    element e;
    if (o[key].get(e) || e.is_null()) return fallback;
    double v = 0;
    if (e.get(v)) return make_error("config.json: '%s' must be a number", key);
    return v;
}

result<bool> get_flag(object o, const char* key, bool fallback) {
    element e;
    if (o[key].get(e) || e.is_null()) return fallback;
    bool v = false;
    if (e.get(v)) return make_error("config.json: '%s' must be true or false", key);
    return v;
}

// eos_token_id / bos_token_id may be an integer or a list of integers.
status add_ids(object o, const char* key, const char* file, std::vector<int32_t>& out) {
    element e;
    if (o[key].get(e) || e.is_null()) return status::success();
    int64_t v = 0;
    if (!e.get(v)) {
        if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(int32_t(v));
        return status::success();
    }
    simdjson::dom::array arr;
    if (e.get(arr)) return make_error("%s: '%s' must be an integer or a list", file, key);
    for (element x : arr) {
        if (x.get(v)) return make_error("%s: '%s' must hold integers", file, key);
        if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(int32_t(v));
    }
    return status::success();
}

status parse_rope_scaling(object o, model_config& c) {
    if (is_null(o, "rope_scaling")) return status::success();
    object rs;
    if (o["rope_scaling"].get(rs)) return make_error("config.json: 'rope_scaling' must be an object");
    std::string_view type;
    if (rs["rope_type"].get(type) && rs["type"].get(type))
        return make_error("config.json: rope_scaling has no 'rope_type'");
    auto factor = get_number(rs, "factor", 1.0);
    if (!factor) return factor.err();
    c.rope_scaling.factor = float(*factor);
    if (type == "default") {
        c.rope_scaling.type = rope_scaling_type::none;
    } else if (type == "linear") {
        c.rope_scaling.type = rope_scaling_type::linear;
    } else if (type == "llama3") {
        c.rope_scaling.type = rope_scaling_type::llama3;
        auto lo = get_number(rs, "low_freq_factor", 1.0);
        auto hi = get_number(rs, "high_freq_factor", 4.0);
        auto orig = get_number(rs, "original_max_position_embeddings", 8192.0);
        if (!lo || !hi || !orig) return make_error("config.json: bad llama3 rope_scaling");
        c.rope_scaling.low_freq_factor = float(*lo);
        c.rope_scaling.high_freq_factor = float(*hi);
        c.rope_scaling.original_max_position = int64_t(*orig);
    } else {
        return make_error("config.json: rope_scaling type '%.*s' is not supported (supported: "
                          "linear, llama3)", int(type.size()), type.data());
    }
    if (c.rope_scaling.factor <= 0) return make_error("config.json: rope_scaling factor must be > 0");
    return status::success();
}

result<std::string> read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("cannot read %s", path.c_str());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

result<model_config> parse_hf_config(std::string_view config_json,
                                     std::string_view generation_config_json) {
    simdjson::dom::parser parser;
    object o;
    if (parser.parse(config_json.data(), config_json.size(), true).get(o))
        return make_error("config.json is not a valid JSON object");
    model_config c;
    std::string_view model_type;
    if (o["model_type"].get(model_type)) return make_error("config.json: missing 'model_type'");
    if (model_type == "llama" || model_type == "mistral") {
        c.arch = model_arch::llama;
    } else if (model_type == "qwen2") {
        c.arch = model_arch::qwen2;
        c.attention_bias = true;  // Qwen2 always has Q/K/V biases (no config key)
    } else if (model_type == "qwen3") {
        c.arch = model_arch::qwen3;
        c.qk_norm = true;
    } else {
        return make_error("config.json: model_type '%.*s' is not supported (supported: llama, "
                          "mistral, qwen2, qwen3)", int(model_type.size()), model_type.data());
    }
    for (auto [key, dst] : {std::pair{"hidden_size", &c.hidden_size},
                            {"intermediate_size", &c.intermediate_size},
                            {"num_hidden_layers", &c.num_layers},
                            {"num_attention_heads", &c.num_heads},
                            {"vocab_size", &c.vocab_size}}) {
        auto v = get_int(o, key);
        if (!v) return v.err();
        *dst = *v;
    }
    if (c.hidden_size <= 0 || c.num_heads <= 0 || c.num_layers <= 0 || c.vocab_size <= 0 ||
        c.intermediate_size <= 0)
        return make_error("config.json: sizes must be positive");
    c.num_kv_heads = c.num_heads;
    if (!is_null(o, "num_key_value_heads")) {
        auto v = get_int(o, "num_key_value_heads");
        if (!v) return v.err();
        c.num_kv_heads = *v;
    }
    if (c.num_kv_heads <= 0 || c.num_heads % c.num_kv_heads != 0)
        return make_error("config.json: num_attention_heads %lld is not a multiple of "
                          "num_key_value_heads %lld", (long long)c.num_heads,
                          (long long)c.num_kv_heads);
    c.head_dim = c.hidden_size / c.num_heads;
    if (!is_null(o, "head_dim")) {
        auto v = get_int(o, "head_dim");
        if (!v) return v.err();
        c.head_dim = *v;
    }
    if (c.head_dim <= 0 || c.head_dim % 2 != 0)
        return make_error("config.json: head_dim %lld must be positive and even",
                          (long long)c.head_dim);
    if (!is_null(o, "max_position_embeddings")) {
        auto v = get_int(o, "max_position_embeddings");
        if (!v) return v.err();
        c.max_position = *v;
    }
    auto eps = get_number(o, "rms_norm_eps", 1e-6);
    auto theta = get_number(o, "rope_theta", 10000.0);
    if (!eps) return eps.err();
    if (!theta) return theta.err();
    c.rms_norm_eps = float(*eps);
    c.rope_theta = float(*theta);
    if (status s = parse_rope_scaling(o, c); !s) return s.err();
    auto tie = get_flag(o, "tie_word_embeddings", false);
    if (!tie) return tie.err();
    c.tie_word_embeddings = *tie;
    if (c.arch == model_arch::llama) {
        auto bias = get_flag(o, "attention_bias", false);
        if (!bias) return bias.err();
        c.attention_bias = *bias;
    }
    c.rope_neox = true;
    std::vector<int32_t> bos;
    if (status s = add_ids(o, "bos_token_id", "config.json", bos); !s) return s.err();
    if (status s = add_ids(o, "eos_token_id", "config.json", c.eos_token_ids); !s) return s.err();
    if (!generation_config_json.empty()) {
        simdjson::dom::parser gen_parser;
        object g;
        if (gen_parser.parse(generation_config_json.data(), generation_config_json.size(), true)
                .get(g))
            return make_error("generation_config.json is not a valid JSON object");
        const char* file = "generation_config.json";
        if (status s = add_ids(g, "bos_token_id", file, bos); !s) return s.err();
        if (status s = add_ids(g, "eos_token_id", file, c.eos_token_ids); !s) return s.err();
    }
    if (!bos.empty()) c.bos_token_id = bos.front();
    return c;
}

result<model_config> read_hf_config(const std::string& dir) {
    namespace fs = std::filesystem;
    auto config = read_text((fs::path(dir) / "config.json").string());
    if (!config) return make_error("%s: no readable config.json", dir.c_str());
    std::string gen;
    fs::path gen_path = fs::path(dir) / "generation_config.json";
    if (fs::exists(gen_path)) {
        auto g = read_text(gen_path.string());
        if (!g) return g.err();
        gen = std::move(*g);
    }
    auto c = parse_hf_config(*config, gen);
    if (!c) return error{dir + "/" + c.message()};
    fs::path p = fs::path(dir);
    if (!p.has_filename()) p = p.parent_path();
    c->name = p.filename().string();
    return c;
}

}  // namespace actorlm

// Gemma 2, Gemma 3 (text) and Mistral v0.1 against transformers: the tiny random checkpoints
// of tools/make-gemma-references.py (tests/data/gemma), each from its Hugging Face directory
// and from llama.cpp's GGUF conversion, run by the CPU executor with a chunked prefill over
// a 24-token prompt (windows of 8 matter): last-position logits within 1e-3 of transformers'
// and the 8 greedy ids exact. Gemma's config keys are refused by name when malformed, and
// Gemma 3's transformers-4 config layout reads as its transformers-5 one.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <simdjson.h>

#include <unistd.h>

#include "core/engine_loop.hpp"
#include "core/kv_invariants.hpp"
#include "forward_driver.hpp"
#include "model/kv_cache_layout.hpp"
#include "model/gguf_config.hpp"
#include "model/gguf_file.hpp"
#include "model/gguf_writer.hpp"
#include "model/hf_config.hpp"
#include "model/model_loader.hpp"

using namespace actorlm;

namespace gemma_test {

std::string data_dir() { return std::string(ACTORLM_SOURCE_DIR) + "/tests/data/gemma/"; }

struct reference {
    std::vector<int32_t> prompt;
    std::vector<double> last_logits;
    std::vector<int32_t> greedy;
    std::vector<int32_t> llama_cpp_greedy;  // empty: not recorded (HF) or llama.cpp failed
};

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// `format` is "hf" or "gguf": each holds the logits of the config that format carries.
reference read_reference(const std::string& model, const std::string& format) {
    const std::string text = read_text(data_dir() + "references.json");
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE_FALSE(parser.parse(text).get(root));
    reference r;
    for (auto v : root["prompt"].get_array()) r.prompt.push_back(int32_t(int64_t(v)));
    simdjson::dom::element e = root[model][format];
    for (auto v : e["last_logits"].get_array()) r.last_logits.push_back(double(v));
    for (auto v : e["greedy"].get_array()) r.greedy.push_back(int32_t(int64_t(v)));
    simdjson::dom::array llama;
    if (!e["llama_cpp_greedy"].get(llama))
        for (auto v : llama) r.llama_cpp_greedy.push_back(int32_t(int64_t(v)));
    return r;
}

struct run_result {
    double max_logit_diff = 0;
    std::vector<int32_t> greedy;
};

run_result run(const loaded_model& m, const reference& ref) {
    REQUIRE(static_cast<int64_t>(ref.last_logits.size()) == m.config.vocab_size);
    cpu_executor_options opt;
    opt.num_threads = 2;
    // Blocks of 4: every window of 8 starts mid-block somewhere.
    auto ex = cpu_executor::create(m.config, m.weights, {32, 4, dtype::f32}, opt);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
    test::block_allocator alloc(32, 7);
    test::greedy_schedule sched;
    sched.token_budget = 10;  // the prompt in chunks of 10, 10 and 4
    std::vector<std::vector<float>> first;
    run_result r;
    r.greedy = test::greedy_generate(**ex, {ref.prompt}, static_cast<int32_t>(ref.greedy.size()),
                                     {}, sched, alloc, &first)[0];
    for (size_t v = 0; v < ref.last_logits.size(); ++v)
        r.max_logit_diff = std::max(r.max_logit_diff, std::abs(first[0][v] - ref.last_logits[v]));
    return r;
}

void check_model(const std::string& model, const std::string& format, const std::string& path,
                 model_arch arch) {
    CAPTURE(model);
    CAPTURE(format);
    auto m = load_model(data_dir() + path);
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
    CHECK(m->config.arch == arch);
    const reference ref = read_reference(model, format);
    const run_result r = run(*m, ref);
    MESSAGE(model << " " << format << ": largest last-position logit difference "
                  << r.max_logit_diff);
    CHECK(r.max_logit_diff < 1e-3);
    CHECK(r.greedy == ref.greedy);
    if (!ref.llama_cpp_greedy.empty() && ref.llama_cpp_greedy != ref.greedy)
        MESSAGE(model << ": llama.cpp's greedy ids differ from transformers' (see "
                         "tests/data/gemma/references.json)");
}

// The cases stay inside the namespace: the unity build shares one scope between test files.

TEST_CASE("gemma: Gemma 2 from HF and GGUF matches transformers") {
    check_model("gemma2", "hf", "gemma2", model_arch::gemma2);
    check_model("gemma2", "gguf", "gemma2-f16.gguf", model_arch::gemma2);
}

TEST_CASE("gemma: Gemma 3 (text) from HF and GGUF matches transformers") {
    check_model("gemma3", "hf", "gemma3", model_arch::gemma3);
    check_model("gemma3", "gguf", "gemma3-f16.gguf", model_arch::gemma3);
}

/// The reference prompt's greedy ids through the scheduler and engine loop, with the KV
/// cache paged per attention type (kv_cache_layout) in a pool that frees window blocks.
std::vector<int32_t> grouped_greedy(const loaded_model& m, const reference& ref,
                                    int32_t* num_groups) {
    cpu_executor_options opt;
    opt.num_threads = 2;
    opt.hybrid_kv_groups = true;
    auto ex = cpu_executor::create(m.config, m.weights, {64, 4, dtype::f32}, opt);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
    *num_groups = (*ex)->kv_spec().num_kv_groups;
    core::scheduler_config cfg;
    cfg.num_blocks = 64;
    cfg.block_size = 4;
    cfg.max_model_len = 64;
    cfg.max_num_batched_tokens = 10;  // the prompt in chunks of 10, 10 and 4
    cfg.kv_group_windows = make_kv_cache_layout(m.config, true).group_windows();
    cfg.vocab_size = m.config.vocab_size;
    auto loop = core::engine_loop::create(cfg, **ex, 1);
    REQUIRE_MESSAGE(loop.ok(), (loop.ok() ? "" : loop.message()));
    core::request_spec spec;
    spec.req_id = "g";
    spec.prompt_token_ids = ref.prompt;
    spec.params.temperature = 0.0f;
    spec.params.max_tokens = static_cast<int32_t>(ref.greedy.size());
    REQUIRE((*loop)->add_request(std::move(spec)).ok());
    std::vector<int32_t> out;
    while ((*loop)->has_unfinished_requests()) {
        for (const auto& o : (*loop)->step())
            out.insert(out.end(), o.new_token_ids.begin(), o.new_token_ids.end());
        auto inv = core::check_kv_invariants((*loop)->sched());
        REQUIRE_MESSAGE(inv.ok(), inv.message());
    }
    return out;
}

TEST_CASE("gemma: with the KV cache paged per attention type, Gemma 2 and 3 keep their ids") {
    for (const std::string model : {"gemma2", "gemma3"}) {
        CAPTURE(model);
        auto m = load_model(data_dir() + model);
        REQUIRE(m.ok());
        int32_t groups = 0;
        CHECK(grouped_greedy(*m, read_reference(model, "hf"), &groups) ==
              read_reference(model, "hf").greedy);
        CHECK(groups > 1);  // local and global layers page apart
    }
}

TEST_CASE("gemma: Mistral v0.1's sliding window from HF matches transformers, its GGUF llama.cpp") {
    // llama.cpp's converter drops Mistral's window: the GGUF reference is transformers without
    // it, which is what llama.cpp computes (its greedy ids are recorded beside).
    check_model("mistral", "hf", "mistral", model_arch::llama);
    check_model("mistral", "gguf", "mistral-f16.gguf", model_arch::llama);
    auto hf = load_model(data_dir() + "mistral");
    REQUIRE(hf.ok());
    CHECK(hf->config.sliding_window == 8);
    CHECK(hf->config.sliding_layers.empty());  // every layer
}

TEST_CASE("gemma: the loaded configs carry Gemma's recipe and per-layer attention") {
    auto g2 = load_model(data_dir() + "gemma2");
    REQUIRE(g2.ok());
    const model_config& c2 = g2->config;
    CHECK(c2.recipe.norm_weight == norm_weight_kind::one_plus);
    CHECK(c2.recipe.activation == ffn_activation::gelu_tanh);
    CHECK(c2.recipe.post_attention_norm);
    CHECK(c2.recipe.post_ffn_norm);
    CHECK(c2.recipe.embedding_scale == 8.0f);  // sqrt(64)
    CHECK(c2.recipe.attention_scale == doctest::Approx(1.0 / std::sqrt(32.0)));
    CHECK(c2.recipe.attention_softcap == 2.0f);
    CHECK(c2.recipe.final_logit_softcap == 3.0f);
    CHECK(c2.sliding_window == 8);
    CHECK(c2.sliding_layers == std::vector<bool>{true, false, true, false, true, false});
    CHECK(c2.tie_word_embeddings);

    auto g2g = load_model(data_dir() + "gemma2-f16.gguf");
    REQUIRE(g2g.ok());
    CHECK(g2g->config.recipe.norm_weight == norm_weight_kind::plain);  // the converter added 1
    CHECK(g2g->config.recipe.attention_scale == 0.0f);  // llama.cpp: 1 / sqrt(head_dim)
    CHECK(g2g->config.sliding_layers == c2.sliding_layers);

    auto g3 = load_model(data_dir() + "gemma3");
    REQUIRE(g3.ok());
    const model_config& c3 = g3->config;
    CHECK(c3.recipe.qk_norm);
    CHECK(c3.recipe.attention_softcap == 0.0f);
    CHECK(c3.recipe.final_logit_softcap == 0.0f);
    CHECK(c3.sliding_layers == std::vector<bool>{true, true, true, true, true, false});
    CHECK(c3.rope_theta == 1e6f);
    CHECK(c3.rope_scaling.type == rope_scaling_type::linear);
    CHECK(c3.rope_scaling.factor == 8.0f);
    CHECK(c3.sliding_rope_theta == 1000.0f);
    CHECK(c3.sliding_rope_scaling.type == rope_scaling_type::none);

    auto g3g = load_model(data_dir() + "gemma3-f16.gguf");
    REQUIRE(g3g.ok());
    CHECK(g3g->config.sliding_layers == c3.sliding_layers);
    CHECK(g3g->config.rope_scaling.type == rope_scaling_type::linear);
    CHECK(g3g->config.sliding_rope_theta == 1000.0f);
}

TEST_CASE("gemma: a Gemma 3 config in transformers 4's layout reads as transformers 5's") {
    // rope_theta + rope_scaling are the global layers', rope_local_base_freq the local ones';
    // sliding_window_pattern (no layer_types) puts a global layer after every five local ones.
    const std::string v5 = read_text(data_dir() + "gemma3/config.json");
    auto a = parse_hf_config(v5);
    REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.message()));
    const char* v4 = R"({"model_type": "gemma3_text", "architectures": ["Gemma3ForCausalLM"],
        "vocab_size": 256, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 6,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
        "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "sliding_window": 8,
        "sliding_window_pattern": 6, "query_pre_attn_scalar": 32,
        "rope_theta": 1000000.0, "rope_scaling": {"rope_type": "linear", "factor": 8.0},
        "rope_local_base_freq": 1000.0, "final_logit_softcapping": null,
        "attn_logit_softcapping": null, "hidden_activation": "gelu_pytorch_tanh",
        "tie_word_embeddings": true})";
    auto b = parse_hf_config(v4);
    REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.message()));
    CHECK(b->sliding_window == a->sliding_window);
    CHECK(b->sliding_layers == a->sliding_layers);
    CHECK(b->rope_theta == a->rope_theta);
    CHECK(b->rope_scaling.type == a->rope_scaling.type);
    CHECK(b->rope_scaling.factor == a->rope_scaling.factor);
    CHECK(b->sliding_rope_theta == a->sliding_rope_theta);
    CHECK(b->sliding_rope_scaling.type == a->sliding_rope_scaling.type);
    CHECK(recipe_features(b->recipe) == recipe_features(a->recipe));
    CHECK(b->recipe.attention_scale == a->recipe.attention_scale);
    CHECK(b->recipe.embedding_scale == a->recipe.embedding_scale);
}

TEST_CASE("gemma: a gemma3 (Gemma3ForConditionalGeneration) config reads as its text model") {
    const std::string text = read_text(data_dir() + "gemma3/config.json");
    auto a = parse_hf_config(text);
    REQUIRE(a.ok());
    const std::string wrapped =
        R"({"model_type": "gemma3", "architectures": ["Gemma3ForConditionalGeneration"],
        "text_config": )" +
        text + "}";
    auto b = parse_hf_config(wrapped);
    REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.message()));
    CHECK(b->arch == model_arch::gemma3);
    CHECK(b->num_layers == a->num_layers);
    CHECK(b->sliding_layers == a->sliding_layers);
    CHECK(b->sliding_rope_theta == a->sliding_rope_theta);
    CHECK(recipe_features(b->recipe) == recipe_features(a->recipe));
}

TEST_CASE("gemma: malformed Gemma config keys are refused by name") {
    const std::string base = R"("vocab_size": 256, "hidden_size": 64, "intermediate_size": 96,
        "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 16, "sliding_window": 8)";
    auto err = [&](const std::string& type, const std::string& extra) {
        auto c = parse_hf_config("{\"model_type\": \"" + type + "\", " + base + extra + "}");
        REQUIRE_FALSE(c.ok());
        return c.message();
    };
    auto has = [](const std::string& msg, const char* part) {
        CAPTURE(msg);
        CHECK(msg.find(part) != std::string::npos);
    };
    has(err("gemma2", R"(, "attn_logit_softcapping": "50")"),
        "'attn_logit_softcapping' must be a positive number or null");
    has(err("gemma2", R"(, "final_logit_softcapping": -1)"),
        "'final_logit_softcapping' must be a positive number or null");
    has(err("gemma2", R"(, "query_pre_attn_scalar": 0)"), "'query_pre_attn_scalar' must be > 0");
    has(err("gemma2", R"(, "hidden_activation": "gelu")"),
        "hidden_activation 'gelu' is not supported");
    has(err("gemma3_text", R"(, "sliding_window_pattern": 0)"),
        "sliding_window_pattern must be a positive integer");
    has(err("gemma3_text", R"(, "rope_local_base_freq": -5)"), "rope_local_base_freq must be > 0");
    has(err("gemma3_text", R"(, "rope_parameters": {"full_attention": {"rope_type": "default"}})"),
        "rope_parameters has no 'sliding_attention' entry");
    // Absent keys take the config classes' defaults (Gemma2Config: caps 50 and 30, scalar 256).
    auto d = parse_hf_config("{\"model_type\": \"gemma2\", " + base + "}");
    REQUIRE(d.ok());
    CHECK(d->recipe.attention_softcap == 50.0f);
    CHECK(d->recipe.final_logit_softcap == 30.0f);
    CHECK(d->recipe.attention_scale == doctest::Approx(1.0 / 16.0));
    // Architectures without per-layer RoPE still refuse rope_parameters that differ by type.
    has(err("mistral", R"(, "rope_parameters": {"full_attention": {"rope_theta": 1e6},
            "sliding_attention": {"rope_theta": 1e4}}, "layer_types": ["sliding_attention",
            "full_attention", "sliding_attention", "full_attention", "sliding_attention",
            "full_attention"])"),
        "rope_parameters differ between full_attention and sliding_attention");
}

TEST_CASE("gemma: malformed Gemma GGUF keys are refused by name") {
    // The converted gemma3 file with one key replaced: its keys and its embedding (all that
    // config_from_gguf reads) copied into a new file.
    auto src = gguf_file::open(data_dir() + "gemma3-f16.gguf");
    REQUIRE(src.ok());
    auto with = [&](const std::string& key, const std::string& text) {
        gguf_writer w;
        for (const std::string& k : (*src)->keys())
            if (k != key && k != "general.alignment") w.copy_key(**src, k);
        w.set_string(key, text);
        const gguf_tensor_info* emb = (*src)->find_tensor("token_embd.weight");
        REQUIRE(emb != nullptr);
        w.add_tensor(emb->name, emb->ggml_type, emb->shape,
                     std::vector<uint8_t>(emb->data, emb->data + emb->num_bytes));
        const std::string path = "/tmp/actorlm_gemma_test_" + std::to_string(::getpid()) + ".gguf";
        REQUIRE(w.write(path).ok());
        auto f = gguf_file::open(path);
        REQUIRE(f.ok());
        auto c = config_from_gguf(**f);
        std::remove(path.c_str());
        REQUIRE_FALSE(c.ok());
        return c.message();
    };
    CHECK(with("gemma3.final_logit_softcapping", "30")
              .find("gemma3.final_logit_softcapping must be a non-negative number") !=
          std::string::npos);
    CHECK(with("gemma3.rope.freq_base_swa", "1e4")
              .find("gemma3.rope.freq_base_swa must be a number") != std::string::npos);
}

}  // namespace gemma_test

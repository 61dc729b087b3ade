// Mixture-of-experts models (Mixtral, Qwen3-MoE) against transformers and llama.cpp: the tiny
// random checkpoints of tools/make-moe-references.py (tests/data/moe) load from their HF
// directories and their GGUF conversions, give transformers' last logits and greedy ids, and
// the q8_0 conversions (quantized experts) give llama.cpp's greedy ids. Also: the grouped
// expert FFN (cpu_moe) against a naive per-token sum, routing ties, batched decode against
// one sequence at a time, the loaders' errors for missing or malformed expert tensors, and
// the CUDA backend's refusal of the feature.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

#include <simdjson.h>

#include "backends/cpu/cpu_executor.hpp"
#include "backends/cpu/cpu_moe.hpp"
#include "forward_driver.hpp"
#include "model/expert_binding.hpp"
#include "model/hf_config.hpp"
#include "model/model_loader.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace moe_test {

std::string moe_path(const std::string& name) {
    return std::string(ACTORLM_SOURCE_DIR) + "/tests/data/moe/" + name;
}

std::string moe_read_text(const std::string& path) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in, path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct moe_ref_data {
    std::vector<int32_t> ids, greedy;
    std::vector<double> last_logits;
};

moe_ref_data moe_read_reference(const std::string& dir) {
    const std::string text = moe_read_text(moe_path(dir + "/reference.json"));
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE_FALSE(parser.parse(text).get(root));
    moe_ref_data r;
    for (auto v : root["input_ids"].get_array()) r.ids.push_back(int32_t(int64_t(v)));
    for (auto v : root["greedy"].get_array()) r.greedy.push_back(int32_t(int64_t(v)));
    for (auto v : root["last_logits"].get_array()) r.last_logits.push_back(double(v));
    return r;
}

// llama-server's greedy ids for a GGUF (llama_greedy.json).
std::vector<int32_t> moe_llama_cpp_greedy(const std::string& gguf) {
    const std::string text = moe_read_text(moe_path("llama_greedy.json"));
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE_FALSE(parser.parse(text).get(root));
    std::vector<int32_t> out;
    simdjson::dom::array a;
    REQUIRE_FALSE(root[gguf].get(a));
    for (auto v : a) out.push_back(int32_t(int64_t(v)));
    return out;
}

std::unique_ptr<cpu_executor> moe_executor(const loaded_model& m, int threads = 1) {
    cpu_executor_options opt;
    opt.num_threads = threads;
    auto ex = cpu_executor::create(m.config, m.weights, {64, 8, dtype::f32}, opt);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? "" : ex.message()));
    return std::move(ex.value());
}

// Greedy ids of one prompt and the prompt's last logits.
std::vector<int32_t> moe_generate(cpu_executor& ex, const std::vector<int32_t>& ids, int32_t n,
                                  std::vector<float>* first) {
    block_allocator alloc(64, 7);
    std::vector<std::vector<float>> logits(1);
    auto out = greedy_generate(ex, {ids}, n, {}, {}, alloc, &logits);
    if (first) *first = logits[0];
    return out[0];
}

double moe_max_diff(const std::vector<float>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double worst = 0.0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
    return worst;
}

// A random f32 matrix {rows, cols} owned by `store`.
tensor moe_random_matrix(int64_t rows, int64_t cols, std::mt19937& rng, float lo, float hi,
                         std::vector<std::vector<float>>& store) {
    std::uniform_real_distribution<float> u(lo, hi);
    store.emplace_back(size_t(rows * cols));
    for (float& v : store.back()) v = u(rng);
    tensor t;
    t.name = "m" + std::to_string(store.size());
    t.type = dtype::f32;
    t.shape = {rows, cols};
    t.data = store.back().data();
    t.num_bytes = store.back().size() * sizeof(float);
    return t;
}

double moe_dot(const tensor& w, int64_t row, const float* x) {
    const float* r = static_cast<const float*>(w.data) + row * w.cols();
    double s = 0.0;
    for (int64_t i = 0; i < w.cols(); ++i) s += double(r[i]) * double(x[i]);
    return s;
}

}  // namespace moe_test

using namespace moe_test;

TEST_CASE("moe: Mixtral and Qwen3-MoE from HF directories and GGUF match transformers") {
    struct item {
        const char* path;
        const char* reference;
        int64_t experts, used;
        bool some_dense;
    };
    const item items[] = {
        {"mixtral", "mixtral", 8, 2, false},
        {"mixtral-f16.gguf", "mixtral", 8, 2, false},
        {"qwen3moe", "qwen3moe", 16, 4, true},
        {"qwen3moe-sparse", "qwen3moe-sparse", 16, 4, false},
        {"qwen3moe-sparse-f16.gguf", "qwen3moe-sparse", 16, 4, false},
    };
    for (const item& it : items) {
        const std::string path = it.path;
        CAPTURE(path);
        auto m = load_model(moe_path(it.path));
        REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
        CHECK(m->config.recipe.mixture_of_experts);
        CHECK(m->config.moe.num_experts == it.experts);
        CHECK(m->config.moe.num_experts_used == it.used);
        CHECK(m->config.moe.normalize_top_k);
        CHECK(!m->config.moe.dense_layers.empty() == it.some_dense);
        if (it.some_dense) CHECK(!layer_is_moe(m->config, 1));
        const moe_ref_data ref = moe_read_reference(it.reference);
        auto ex = moe_executor(*m);
        std::vector<float> logits;
        const auto ids = moe_generate(*ex, ref.ids, int32_t(ref.greedy.size()), &logits);
        const double worst = moe_max_diff(logits, ref.last_logits);
        CHECK(worst < 1e-3);
        CHECK(ids == ref.greedy);
        MESSAGE(path << ": largest last-logit difference to transformers " << worst);
    }
}

TEST_CASE("moe: q8_0 GGUF conversions (quantized experts) give llama.cpp's greedy ids") {
    for (const std::string name : {"mixtral", "qwen3moe-sparse"}) {
        const std::string gguf = name + "-q8_0.gguf";
        CAPTURE(gguf);
        auto m = load_model(moe_path(gguf));
        REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
        CHECK(m->weights.layers[0].expert_gate[0].type == dtype::q8_0);
        const moe_ref_data ref = moe_read_reference(name);
        auto ex = moe_executor(*m);
        std::vector<float> logits;
        const auto ids = moe_generate(*ex, ref.ids, int32_t(ref.greedy.size()), &logits);
        CHECK(ids == moe_llama_cpp_greedy(gguf));
        // Weights rounded to 8 bits: near transformers' logits, not equal.
        const double worst = moe_max_diff(logits, ref.last_logits);
        CHECK(worst < 0.25);
        MESSAGE(gguf << ": largest last-logit difference to transformers (f32) " << worst);
    }
}

TEST_CASE("moe: batched decode of several sequences equals each sequence alone") {
    for (const std::string path : {"qwen3moe", "mixtral-q8_0.gguf"}) {
        CAPTURE(path);
        auto m = load_model(moe_path(path));
        REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.message()));
        auto ex = moe_executor(*m, 2);
        const std::vector<std::vector<int32_t>> prompts = {
            {1, 17, 42, 99, 3, 64, 5, 120, 7, 33, 2, 88}, {5, 6, 7}, {200, 13, 13, 9, 44, 250, 1}};
        std::vector<std::vector<int32_t>> alone;
        std::vector<std::vector<float>> alone_logits;
        for (const auto& p : prompts) {
            std::vector<float> l;
            alone.push_back(moe_generate(*ex, p, 6, &l));
            alone_logits.push_back(l);
        }
        for (const greedy_schedule sched : {greedy_schedule{}, greedy_schedule{5, 1}}) {
            block_allocator alloc(64, 3);
            std::vector<std::vector<float>> logits(prompts.size());
            const auto together = greedy_generate(*ex, prompts, 6, {}, sched, alloc, &logits);
            CHECK(together == alone);
            for (size_t i = 0; i < prompts.size(); ++i) {
                double worst = 0.0;
                for (size_t v = 0; v < logits[i].size(); ++v)
                    worst = std::max(worst, double(std::abs(logits[i][v] - alone_logits[i][v])));
                CHECK(worst < 1e-5);
            }
        }
    }
}

TEST_CASE("moe: the grouped expert FFN equals a naive per-token sum") {
    const int64_t h = 32, f = 16, n = 8, tokens = 5;
    model_config c;
    c.hidden_size = h;
    c.num_layers = 1;
    c.recipe.mixture_of_experts = true;
    c.moe.num_experts = n;
    c.moe.num_experts_used = 2;
    c.moe.expert_intermediate_size = f;
    std::mt19937 rng(42);
    std::vector<std::vector<float>> store;
    layer_weights w;
    // Inputs and the router rows of experts 0..5 positive, those of 6 and 7 negative: the last
    // two experts receive no token.
    w.ffn_gate_inp = moe_random_matrix(n, h, rng, 0.05f, 1.0f, store);
    float* router = store.back().data();
    for (int64_t i = 6 * h; i < n * h; ++i) router[i] = -router[i];
    for (int64_t e = 0; e < n; ++e) {
        w.expert_gate.push_back(moe_random_matrix(f, h, rng, -0.5f, 0.5f, store));
        w.expert_up.push_back(moe_random_matrix(f, h, rng, -0.5f, 0.5f, store));
        w.expert_down.push_back(moe_random_matrix(h, f, rng, -0.5f, 0.5f, store));
    }
    std::vector<float> x(size_t(tokens * h));
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (float& v : x) v = u(rng);
    for (const bool normalize : {true, false}) {
        CAPTURE(normalize);
        c.moe.normalize_top_k = normalize;
        cpu::thread_pool pool(2);
        moe_scratch s;
        std::vector<float> out(size_t(tokens * h), -1.0f);
        moe_ffn(w, c, x.data(), tokens, out.data(), pool, s);
        std::vector<int> used(size_t(n), 0);
        double worst = 0.0;
        for (int64_t t = 0; t < tokens; ++t) {
            const float* xt = x.data() + t * h;
            std::vector<double> p(static_cast<size_t>(n));
            double sum = 0.0;
            for (int64_t e = 0; e < n; ++e)
                sum += (p[size_t(e)] = std::exp(moe_dot(w.ffn_gate_inp, e, xt)));
            std::vector<int64_t> order(static_cast<size_t>(n));
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(),
                             [&](int64_t a, int64_t b) { return p[size_t(a)] > p[size_t(b)]; });
            const double chosen = p[size_t(order[0])] + p[size_t(order[1])];
            std::vector<double> y(size_t(h), 0.0);
            for (int j = 0; j < 2; ++j) {
                const int64_t e = order[size_t(j)];
                ++used[size_t(e)];
                const double wt = p[size_t(e)] / (normalize ? chosen : sum);
                std::vector<float> act(static_cast<size_t>(f));
                for (int64_t i = 0; i < f; ++i) {
                    const double g = moe_dot(w.expert_gate[size_t(e)], i, xt);
                    act[size_t(i)] =
                        float(g / (1.0 + std::exp(-g)) * moe_dot(w.expert_up[size_t(e)], i, xt));
                }
                for (int64_t o = 0; o < h; ++o)
                    y[size_t(o)] += wt * moe_dot(w.expert_down[size_t(e)], o, act.data());
            }
            for (int64_t o = 0; o < h; ++o)
                worst = std::max(worst, std::abs(double(out[size_t(t * h + o)]) - y[size_t(o)]));
        }
        CHECK(used[6] == 0);
        CHECK(used[7] == 0);
        CHECK(worst < 1e-4);
        MESSAGE("grouped vs naive expert FFN: " << worst);
    }
}

TEST_CASE("moe: routing keeps the top-k probabilities, ties to the lower expert") {
    moe_config m;
    m.num_experts = 4;
    m.num_experts_used = 2;
    m.normalize_top_k = true;
    const float logits[] = {1.0f, 3.0f, 3.0f, 0.0f, 2.0f, 2.0f, 2.0f, 2.0f};
    moe_routing r;
    moe_route(logits, 2, m, r);
    CHECK(r.expert == std::vector<int32_t>{1, 2, 0, 1});
    CHECK(r.weight[0] == doctest::Approx(0.5f));
    CHECK(r.weight[0] + r.weight[1] == doctest::Approx(1.0f));
    m.normalize_top_k = false;
    moe_route(logits, 2, m, r);
    CHECK(r.weight[2] == doctest::Approx(0.25f));
}

TEST_CASE("moe: missing or malformed expert tensors are errors naming the tensor") {
    model_config c;
    c.hidden_size = 32;
    c.num_layers = 1;
    c.recipe.mixture_of_experts = true;
    c.moe.num_experts = 4;
    c.moe.num_experts_used = 2;
    c.moe.expert_intermediate_size = 8;
    std::mt19937 rng(1);
    std::vector<std::vector<float>> store;
    std::map<std::string, tensor> files;
    auto lookup = [&files](const std::string& name) -> result<tensor> {
        auto it = files.find(name);
        return it == files.end() ? tensor{} : it->second;
    };
    files["blk.0.ffn_gate_inp.weight"] = moe_random_matrix(4, 32, rng, -1, 1, store);
    // GGUF: stacked {experts, rows, cols}, here with 3 experts instead of 4.
    auto stacked = [&](int64_t experts, int64_t rows, int64_t cols) {
        tensor t = moe_random_matrix(experts * rows, cols, rng, -1, 1, store);
        t.shape = {experts, rows, cols};
        return t;
    };
    files["blk.0.ffn_gate_exps.weight"] = stacked(4, 8, 32);
    files["blk.0.ffn_up_exps.weight"] = stacked(4, 8, 32);
    files["blk.0.ffn_down_exps.weight"] = stacked(3, 32, 8);
    layer_weights l;
    status s = bind_layer_experts(c, 0, gguf_expert_names(), lookup, l);
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("'blk.0.ffn_down_exps.weight' has shape {3, 32, 8}") !=
          std::string::npos);
    files["blk.0.ffn_down_exps.weight"] = stacked(4, 32, 8);
    files["blk.0.ffn_down_exps.weight"].num_bytes -= 4;  // a truncated file
    s = bind_layer_experts(c, 0, gguf_expert_names(), lookup, l);
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("holds 4092 bytes, its shape needs 4096") != std::string::npos);
    files["blk.0.ffn_down_exps.weight"].num_bytes += 4;
    REQUIRE(bind_layer_experts(c, 0, gguf_expert_names(), lookup, l).ok());
    CHECK(l.expert_down[3].data ==
          static_cast<const float*>(files["blk.0.ffn_down_exps.weight"].data) + 3 * 32 * 8);
    files.erase("blk.0.ffn_up_exps.weight");
    s = bind_layer_experts(c, 0, gguf_expert_names(), lookup, l);
    CHECK(s.message().find("missing tensor 'blk.0.ffn_up_exps.weight'") != std::string::npos);

    // Hugging Face: one tensor per expert; expert 3's w2 is missing.
    const char* mats[] = {"w1.weight", "w3.weight", "w2.weight"};
    const expert_names hf = hf_expert_names("model.layers.", "block_sparse_moe.gate.weight",
                                            "block_sparse_moe.experts.", mats);
    files.clear();
    files["model.layers.0.block_sparse_moe.gate.weight"] =
        moe_random_matrix(4, 32, rng, -1, 1, store);
    for (int e = 0; e < 4; ++e) {
        const std::string p = "model.layers.0.block_sparse_moe.experts." + std::to_string(e) + ".";
        files[p + "w1.weight"] = moe_random_matrix(8, 32, rng, -1, 1, store);
        files[p + "w3.weight"] = moe_random_matrix(8, 32, rng, -1, 1, store);
        if (e != 3) files[p + "w2.weight"] = moe_random_matrix(32, 8, rng, -1, 1, store);
    }
    s = bind_layer_experts(c, 0, hf, lookup, l);
    CHECK(
        s.message().find("missing tensor 'model.layers.0.block_sparse_moe.experts.3.w2.weight'") !=
        std::string::npos);
    files["model.layers.0.block_sparse_moe.experts.3.w2.weight"] =
        moe_random_matrix(8, 32, rng, -1, 1, store);
    s = bind_layer_experts(c, 0, hf, lookup, l);
    CHECK(
        s.message().find("experts.3.w2.weight' has shape {8, 32}, but the config needs {32, 8}") !=
        std::string::npos);
    // transformers' fused layout: gate_up {experts, 2 * ffn, hidden} and down.
    files.clear();
    files["model.layers.0.block_sparse_moe.gate.weight"] =
        moe_random_matrix(4, 32, rng, -1, 1, store);
    files["model.layers.0.mlp.experts.gate_up_proj"] = stacked(4, 16, 32);
    files["model.layers.0.mlp.experts.down_proj"] = stacked(4, 32, 8);
    REQUIRE(bind_layer_experts(c, 0, hf, lookup, l).ok());
    const auto* gu =
        static_cast<const float*>(files["model.layers.0.mlp.experts.gate_up_proj"].data);
    CHECK(l.expert_gate[1].data == gu + 16 * 32);
    CHECK(l.expert_up[1].data == gu + 16 * 32 + 8 * 32);
}

TEST_CASE("moe: config.json expert keys are read and checked") {
    const std::string base = R"({"model_type": "qwen3_moe", "hidden_size": 64,
        "intermediate_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 100, "moe_intermediate_size": 32,
        "norm_topk_prob": false, "decoder_sparse_step": 2, "mlp_only_layers": [3], )";
    auto c = parse_hf_config(base + R"("num_experts": 8, "num_experts_per_tok": 2})", "");
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.message()));
    CHECK(c->arch == model_arch::qwen3_moe);
    CHECK(c->recipe.qk_norm);
    CHECK(c->moe.expert_intermediate_size == 32);
    CHECK_FALSE(c->moe.normalize_top_k);
    // decoder_sparse_step 2: layers 1 and 3 sparse; mlp_only_layers makes 3 dense.
    CHECK(c->moe.dense_layers == std::vector<bool>{true, false, true, true});
    auto bad = parse_hf_config(base + R"("num_experts": 8, "num_experts_per_tok": 9})", "");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message().find("experts used per token 9") != std::string::npos);
    auto missing = parse_hf_config(base + R"("num_experts": 8})", "");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.message().find("missing 'num_experts_per_tok'") != std::string::npos);
}

TEST_CASE("moe: a backend without the feature refuses the model by name") {
    model_recipe r;
    r.qk_norm = true;
    r.mixture_of_experts = true;
    // The CUDA backend's mask (cuda_executor.cpp): Q/K/V biases and Q/K norm only.
    const status s =
        require_recipe_features(r, recipe_qkv_bias | recipe_qk_norm, "the CUDA backend");
    REQUIRE_FALSE(s.ok());
    CHECK(s.message() ==
          "the CUDA backend does not implement mixture-of-experts FFN, which this "
          "model needs");
}

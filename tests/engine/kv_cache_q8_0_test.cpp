// The q8_0 KV cache in the engine: the pool holds ~1.88x the tokens of F16 in the
// same bytes, the cpu device accepts q8_0 and refuses (at start-up, naming the
// shape) models whose KV rows are not whole 32-value blocks, q8_0 blocks never
// share prefix hashes with F16 ones, block copies move the smaller rows, and on
// stories260K the logits stay close to an F16 cache's with the same greedy tokens.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/backend.hpp"
#include "core/engine_plan.hpp"
#include "core/kv_cache_sizing.hpp"
#include "forward_driver.hpp"
#include "model/kv_cache_storage.hpp"
#include "model/model_loader.hpp"
#include "support/golden_cases.hpp"
#include "support/reference_model.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace kv_q8_0_test {

// rand-135m / SmolLM2-135M's KV shape: 30 layers, 3 KV heads of 64.
model_config smollm2_135m_kv_shape() {
    model_config c;
    c.num_layers = 30;
    c.num_kv_heads = 3;
    c.head_dim = 64;
    return c;
}

std::unique_ptr<cpu_executor> stories_executor(const loaded_model& m, dtype kv) {
    cpu_executor_options opt;
    opt.num_threads = 2;
    auto ex = cpu_executor::create(m.config, m.weights, {128, 16, kv}, opt);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? std::string() : ex.message()));
    return std::move(ex.value());
}

// Every position's logits for `tokens` in one forward pass (prefill writes each token's
// K/V before attention reads the cache, so the quantized cache is what every row sees).
std::vector<float> all_logits(cpu_executor& ex, const std::vector<int32_t>& tokens) {
    block_allocator alloc(ex.kv_spec().num_blocks, 3);
    test_sequence s;
    s.tokens = tokens;
    const forward_batch b = make_batch({{&s, static_cast<int32_t>(tokens.size())}},
                                       ex.kv_spec().block_size, alloc, true);
    std::vector<float> logits;
    const status st = ex.forward(b, logits);
    REQUIRE_MESSAGE(st.ok(), st.message());
    return logits;
}

engine_config stories_engine_config(const std::string& kv_dtype) {
    engine_config cfg;
    cfg.model_path = shared_path("models/stories260K.gguf");
    cfg.kv_cache_dtype = kv_dtype;
    cfg.kv_cache_memory_bytes = 4 << 20;
    return cfg;
}

}  // namespace kv_q8_0_test

using namespace kv_q8_0_test;

TEST_CASE("kv cache q8_0: the same bytes hold at least 1.8x the tokens of f16") {
    const model_config c = smollm2_135m_kv_shape();
    // 34 bytes per 32 values against 64: 64 / 34 = 1.88x.
    const int64_t f16 = core::kv_block_bytes(c, 16, dtype::f16);
    const int64_t q8 = core::kv_block_bytes(c, 16, dtype::q8_0);
    CHECK(f16 == 2 * 30 * 3 * 64 * 2 * 16);
    CHECK(q8 == 2 * 30 * (3 * 64 / 32 * 34) * 16);
    executor_request req;
    req.block_size = 16;
    const int64_t budget = int64_t{1} << 30;
    const int32_t f16_blocks = plan_kv_blocks(req, f16, budget).value();
    const int32_t q8_blocks = plan_kv_blocks(req, q8, budget).value();
    CAPTURE(f16_blocks);
    CAPTURE(q8_blocks);
    CHECK(static_cast<double>(q8_blocks) >= 1.8 * f16_blocks);

    // Through the cpu backend, as serve sizes the pool from --kv-cache-memory-bytes.
    loaded_model m;
    m.config = tiny_config(model_arch::llama);  // 2 KV heads of 16: one q8_0 block per row
    m.weights = random_weights(m.config, 7);
    executor_request er;
    er.block_size = 16;
    er.kv_cache_memory_bytes = 1 << 20;
    er.kv_cache_dtype = "f16";
    auto ex16 = actorlm::make_executor(m, er);
    REQUIRE_MESSAGE(ex16.ok(), (ex16.ok() ? "" : ex16.message()));
    er.kv_cache_dtype = "q8_0";
    auto ex8 = actorlm::make_executor(m, er);
    REQUIRE_MESSAGE(ex8.ok(), (ex8.ok() ? "" : ex8.message()));
    CHECK((*ex8)->kv_spec().type == dtype::q8_0);
    const int32_t tokens16 = (*ex16)->kv_spec().num_blocks * 16;
    const int32_t tokens8 = (*ex8)->kv_spec().num_blocks * 16;
    CAPTURE(tokens16);
    CAPTURE(tokens8);
    CHECK(static_cast<double>(tokens8) >= 1.8 * tokens16);
}

TEST_CASE("kv cache q8_0: block copies move rows of 34 bytes per 32 values") {
    kv_cache_spec spec{4, 16, dtype::q8_0};
    auto kv = kv_cache_storage::create(spec, 2, 3, 64);
    REQUIRE_MESSAGE(kv.ok(), (kv.ok() ? "" : kv.message()));
    // K and V of 16 tokens, 3 heads x 2 blocks of 34 bytes each.
    CHECK(kv->block_layer_bytes() == 2u * 16 * 3 * 2 * 34);
    CHECK(kv->num_bytes() == 2u * 2 * 4 * 16 * 3 * 2 * 34);
    // A written token reads back through a block copy into another cache byte for byte
    // (what the disk tier, the KV store and the peer transfer do).
    std::vector<float> k(192), v(192);
    for (size_t i = 0; i < k.size(); ++i) {
        k[i] = std::sin(static_cast<float>(i));
        v[i] = std::cos(static_cast<float>(i));
    }
    kv->write(1, 2 * 16 + 5, k.data(), v.data());
    std::vector<uint8_t> bytes(kv->block_layer_bytes());
    kv->read_block_layer(1, 2, bytes);
    auto other = kv_cache_storage::create(spec, 2, 3, 64);
    REQUIRE(other.ok());
    other->write_block_layer(1, 0, bytes);
    const cpu::paged_kv_layer a = kv->layer_view(1), b = other->layer_view(1);
    const size_t row = 3 * 2 * 34;
    CHECK(std::memcmp(static_cast<const uint8_t*>(a.k) + (2 * 16 + 5) * row,
                      static_cast<const uint8_t*>(b.k) + 5 * row, row) == 0);
    CHECK(std::memcmp(static_cast<const uint8_t*>(a.v) + (2 * 16 + 5) * row,
                      static_cast<const uint8_t*>(b.v) + 5 * row, row) == 0);
}

TEST_CASE("kv cache q8_0: the cpu device refuses rows that are not whole blocks, naming them") {
    loaded_model m;
    m.config = tiny_config(model_arch::llama);
    m.weights = random_weights(m.config, 7);
    auto cpu = find_backend("cpu");
    REQUIRE(cpu.ok());
    CHECK((*cpu)->resolve_kv_dtype("q8_0", m).value() == dtype::q8_0);  // 2 x 16 = 32 values
    m.config.num_kv_heads = 1;  // 1 x 16: half a block
    auto bad = (*cpu)->resolve_kv_dtype("q8_0", m);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.message().find("head_dim 16") != std::string::npos);
    CHECK(bad.message().find("blocks of 32") != std::string::npos);
    executor_request req;
    req.kv_cache_dtype = "q8_0";
    req.num_blocks = 4;
    auto ex = actorlm::make_executor(m, req);
    REQUIRE_FALSE(ex.ok());
    CHECK(ex.message().find("head_dim 16") != std::string::npos);
    CHECK(kv_cache_storage::create({4, 16, dtype::q8_0}, 1, 1, 16).message().find("head_dim 16") !=
          std::string::npos);
    auto unknown = (*cpu)->resolve_kv_dtype("q4_0", m);
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.message().find("q4_0") != std::string::npos);
}

TEST_CASE("kv cache q8_0: start-up refuses a model whose rows are not whole blocks") {
    ACTORLM_REQUIRE_SHARED("models/llama-2-tiny-random.gguf");
    engine_config cfg;
    cfg.model_path = shared_path("models/llama-2-tiny-random.gguf");  // 2 KV heads of 4
    cfg.kv_cache_dtype = "q8_0";
    auto plan = core::make_engine_plan(cfg);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.message().find("2 KV heads x head_dim 4") != std::string::npos);
    CHECK(plan.message().find("--kv-cache-dtype f16") != std::string::npos);
}

TEST_CASE("kv cache q8_0: q8_0 blocks never match f16 blocks of the same model") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto f16 = core::make_engine_plan(stories_engine_config("f16"));
    REQUIRE_MESSAGE(f16.ok(), (f16.ok() ? "" : f16.message()));
    auto q8 = core::make_engine_plan(stories_engine_config("q8_0"));
    REQUIRE_MESSAGE(q8.ok(), (q8.ok() ? "" : q8.message()));
    auto q8_again = core::make_engine_plan(stories_engine_config("q8_0"));
    REQUIRE(q8_again.ok());
    CHECK(q8->kv_dtype == dtype::q8_0);
    // The root of every block-hash chain (prefix cache, disk tier, KV store, peers).
    CHECK(q8->sched.hash_root != f16->sched.hash_root);
    CHECK(q8->sched.hash_root == q8_again->sched.hash_root);
}

TEST_CASE("kv cache q8_0: stories260K logits stay close to an f16 cache's, greedy tokens agree") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const auto cases = read_golden(shared_path("models/stories260K.golden.json"));
    REQUIRE(cases.size() == 4);
    auto model = load_model(shared_path("models/stories260K.gguf"));
    REQUIRE_MESSAGE(model.ok(), (model.ok() ? std::string() : model.message()));
    // stories260K has heads of 8: four share each q8_0 block (the split-heads path).
    auto ex16 = stories_executor(*model, dtype::f16);
    auto ex8 = stories_executor(*model, dtype::q8_0);
    auto ex32 = stories_executor(*model, dtype::f32);
    const int64_t vocab = model->config.vocab_size;
    double max_diff = 0, sum_diff = 0, max_diff32 = 0, sum_diff32 = 0, max_logit = 0;
    int64_t positions = 0, top1_same = 0;
    for (const golden_case& g : cases) {
        // Teacher-forced over the reference's whole greedy continuation.
        std::vector<int32_t> tokens = g.prompt_ids;
        tokens.insert(tokens.end(), g.greedy_ids.begin(), g.greedy_ids.end());
        const std::vector<float> a = all_logits(*ex16, tokens);
        const std::vector<float> b = all_logits(*ex8, tokens);
        const std::vector<float> c32 = all_logits(*ex32, tokens);
        for (size_t i = 0; i < a.size(); ++i) {
            max_diff32 = std::max(max_diff32, static_cast<double>(std::abs(a[i] - c32[i])));
            sum_diff32 += std::abs(a[i] - c32[i]);
            sum_diff += std::abs(a[i] - b[i]);
            max_logit = std::max(max_logit, static_cast<double>(std::abs(a[i])));
        }
        REQUIRE(a.size() == b.size());
        for (size_t t = 0; t < tokens.size(); ++t, ++positions) {
            const float* ra = a.data() + static_cast<int64_t>(t) * vocab;
            const float* rb = b.data() + static_cast<int64_t>(t) * vocab;
            for (int64_t v = 0; v < vocab; ++v)
                max_diff = std::max(max_diff, static_cast<double>(std::abs(ra[v] - rb[v])));
            top1_same += argmax(ra, vocab) == argmax(rb, vocab) ? 1 : 0;
        }
        // Free-running greedy decoding with each cache.
        block_allocator alloc16(128, 1), alloc8(128, 1);
        const auto ids16 = greedy_generate(*ex16, {g.prompt_ids}, g.max_new, {1, 2}, {}, alloc16);
        const auto ids8 = greedy_generate(*ex8, {g.prompt_ids}, g.max_new, {1, 2}, {}, alloc8);
        size_t same = 0;
        while (same < std::min(ids16[0].size(), ids8[0].size()) && ids16[0][same] == ids8[0][same])
            ++same;
        MESSAGE("stories260K prompt '" << g.prompt << "': greedy ids identical for " << same
                                       << " of " << ids16[0].size() << " tokens");
        // Measured: 114 of 255, 64 of 64, 40 of 48, 48 of 48. A long greedy run follows a
        // near-tie either way once the logits differ at all; the first 24 tokens have clear
        // margins on every prompt.
        CHECK(same >= std::min<size_t>(24, ids16[0].size()));
    }
    const double n = static_cast<double>(positions * vocab);
    const double agreement = static_cast<double>(top1_same) / static_cast<double>(positions);
    MESSAGE("stories260K q8_0 vs f16 KV: max |logit diff| "
            << max_diff << ", mean " << sum_diff / n << ", top-1 agreement " << top1_same << "/"
            << positions << " (f16 vs f32 KV: max " << max_diff32 << ", mean " << sum_diff32 / n
            << "; largest |logit| " << max_logit << ")");
    // Measured (AVX2): max 1.07, mean 0.11, top-1 433/437; f16 vs f32: max 0.024, mean 0.0022,
    // logits up to 22. stories260K's heads of 8 share each q8_0 block four ways, so one head's
    // large values coarsen its neighbours' steps: a worst case for q8_0. The bounds leave
    // room for other summation orders (AVX-512, thread counts) without hiding a broken cache,
    // which would move logits by whole units and disagree on most positions.
    CHECK(agreement >= 0.97);
    CHECK(sum_diff / n < 0.25);
    CHECK(max_diff < 2.5);
    CHECK(sum_diff / n > sum_diff32 / n);  // the cache really is quantized (coarser than f16)
}

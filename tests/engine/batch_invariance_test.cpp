// Batch invariance of greedy decoding: a prompt yields the same tokens alone,
// batched with other prompts, with its prefill cut into chunks at any point,
// starting later than others, and with block sizes 8 / 16 / 32.
#include <doctest/doctest.h>

#include "forward_driver.hpp"
#include "support/reference_model.hpp"
#include "model/model_loader.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace {

std::unique_ptr<cpu_executor> executor_for(const model_config& c, const model_weights& w,
                                           int32_t block_size, dtype kv_type) {
    cpu_executor_options opt;
    opt.num_threads = 2;
    auto ex = cpu_executor::create(c, w, {256, block_size, kv_type}, opt);
    REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? std::string() : ex.message()));
    return std::move(ex.value());
}

}  // namespace

TEST_CASE("batch_invariance: greedy tokens do not depend on batching, chunking or block size") {
    const model_config c = tiny_config(model_arch::qwen2);
    const model_weights w = random_weights(c, 2024);
    const std::vector<std::vector<int32_t>> prompts = {
        {1, 17, 33, 5, 60, 61, 62, 8, 9, 10, 11, 40, 41},
        {1, 90},
        {1,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
         20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36},
        {1},
    };
    const int32_t max_new = 24;
    const std::vector<int32_t> stop = {};  // random models: always run max_new steps

    // Alone, whole prompt in one step, block size 16.
    std::vector<std::vector<int32_t>> alone;
    {
        auto ex = executor_for(c, w, 16, dtype::f32);
        for (const auto& p : prompts) {
            block_allocator alloc(256, 1);
            alone.push_back(greedy_generate(*ex, {p}, max_new, stop, {}, alloc)[0]);
            CHECK(alloc.num_free() == 256);
        }
    }
    for (const auto& g : alone) CHECK(g.size() == static_cast<size_t>(max_new));

    struct variant {
        int32_t block_size;
        greedy_schedule sched;
    };
    const variant variants[] = {
        {16, {}},      // all together
        {8, {5, 0}},   // 5 prompt tokens per step: prefills cut mid-block
        {32, {7, 3}},  // staggered starts: prefill chunks next to other decodes
        {16, {1, 1}},  // one prompt token per step
        {8, {13, 0}},
    };
    for (const variant& v : variants) {
        CAPTURE(v.block_size);
        CAPTURE(v.sched.token_budget);
        CAPTURE(v.sched.stagger);
        auto ex = executor_for(c, w, v.block_size, dtype::f32);
        block_allocator alloc(256, static_cast<uint32_t>(v.block_size));
        const auto batched = greedy_generate(*ex, prompts, max_new, stop, v.sched, alloc);
        CHECK(alloc.num_free() == 256);
        for (size_t i = 0; i < prompts.size(); ++i) {
            CAPTURE(i);
            CHECK(batched[i] == alone[i]);
        }
    }
}

TEST_CASE(
    "batch_invariance: stories260K greedy ids are the same batched, chunked, any block size, F16 "
    "KV") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto model = load_model(shared_path("models/stories260K.gguf"));
    REQUIRE_MESSAGE(model.ok(), (model.ok() ? std::string() : model.message()));
    const std::vector<std::vector<int32_t>> prompts = {
        {1},
        {1, 403, 407, 261, 378},
        {1, 376, 282},
        {1, 365, 288, 322, 468, 351, 304, 278, 409, 11, 300},
    };
    const int32_t max_new = 40;
    const std::vector<int32_t> stop = {1, 2};
    std::vector<std::vector<int32_t>> alone;
    {
        auto ex = executor_for(model->config, model->weights, 16, dtype::f32);
        for (const auto& p : prompts) {
            block_allocator alloc(256, 1);
            alone.push_back(greedy_generate(*ex, {p}, max_new, stop, {}, alloc)[0]);
            CHECK(alone.back().size() >= 20);  // real text, not an immediate stop
        }
    }
    struct variant {
        int32_t block_size;
        dtype kv;
        greedy_schedule sched;
    };
    const variant variants[] = {
        {16, dtype::f32, {}}, {8, dtype::f32, {3, 0}}, {32, dtype::f32, {4, 2}},
        {16, dtype::f16, {}}, {8, dtype::f16, {2, 1}}, {32, dtype::f16, {5, 0}},
    };
    for (const variant& v : variants) {
        CAPTURE(v.block_size);
        CAPTURE(dtype_name(v.kv));
        CAPTURE(v.sched.token_budget);
        auto ex = executor_for(model->config, model->weights, v.block_size, v.kv);
        block_allocator alloc(256, 9);
        const auto batched = greedy_generate(*ex, prompts, max_new, stop, v.sched, alloc);
        for (size_t i = 0; i < prompts.size(); ++i) {
            CAPTURE(i);
            CHECK(batched[i] == alone[i]);
        }
    }
}

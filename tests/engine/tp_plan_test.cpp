// Tensor-parallel sharding plan: every rank's slices tile each matrix exactly
// once, and shapes that do not split evenly are refused with a named dimension.
#include <doctest/doctest.h>

#include <string>

#include "model/tensor_parallel_plan.hpp"

using namespace actorlm;

namespace {

model_config llama3_8b() {
    model_config c;
    c.vocab_size = 128256;
    c.hidden_size = 4096;
    c.intermediate_size = 14336;
    c.num_layers = 32;
    c.num_heads = 32;
    c.num_kv_heads = 8;
    c.head_dim = 128;
    return c;
}

}  // namespace

TEST_CASE("tp_plan: tp=1 owns every row and column") {
    auto plan = tensor_parallel_plan::make(llama3_8b(), 1);
    REQUIRE(plan.ok());
    const tp_shard& s = plan->shard(0);
    CHECK(s.q_heads == index_range{0, 32});
    CHECK(s.kv_heads == index_range{0, 8});
    CHECK(s.wq_rows == index_range{0, 4096});
    CHECK(s.wk_rows == index_range{0, 1024});
    CHECK(s.ffn_rows == index_range{0, 14336});
    CHECK(s.adds_residual());
}

TEST_CASE("tp_plan: slices of all ranks tile heads, rows and columns exactly once") {
    const model_config c = llama3_8b();
    for (int32_t tp : {2, 4, 8}) {
        auto plan = tensor_parallel_plan::make(c, tp);
        REQUIRE(plan.ok());
        REQUIRE(plan->size() == tp);
        int64_t next_q = 0, next_kv = 0, next_ffn = 0, residual_adders = 0;
        for (int32_t r = 0; r < tp; ++r) {
            const tp_shard& s = plan->shard(r);
            CHECK(s.rank == r);
            CHECK(s.q_heads.begin == next_q);
            CHECK(s.kv_heads.begin == next_kv);
            CHECK(s.ffn_rows.begin == next_ffn);
            // A rank's query heads must read only the KV heads it owns (GQA groups).
            const int64_t group = c.num_heads / c.num_kv_heads;
            CHECK(s.q_heads.begin / group == s.kv_heads.begin);
            CHECK(s.q_heads.count == s.kv_heads.count * group);
            CHECK(s.wq_rows == index_range{s.q_heads.begin * 128, s.q_heads.count * 128});
            CHECK(s.wo_cols == s.wq_rows);
            CHECK(s.w_down_cols == s.ffn_rows);
            next_q = s.q_heads.end();
            next_kv = s.kv_heads.end();
            next_ffn = s.ffn_rows.end();
            residual_adders += s.adds_residual() ? 1 : 0;
        }
        CHECK(next_q == c.num_heads);
        CHECK(next_kv == c.num_kv_heads);
        CHECK(next_ffn == c.intermediate_size);
        CHECK(residual_adders == 1);
    }
}

TEST_CASE("tp_plan: uneven splits are refused naming the dimension") {
    model_config c = llama3_8b();
    auto kv = tensor_parallel_plan::make(c, 16);  // 8 KV heads over 16 ranks
    REQUIRE_FALSE(kv.ok());
    CHECK(kv.message().find("num_kv_heads") != std::string::npos);

    auto heads = tensor_parallel_plan::make(c, 3);
    REQUIRE_FALSE(heads.ok());
    CHECK(heads.message().find("num_heads") != std::string::npos);

    c.intermediate_size = 14337;
    auto ffn = tensor_parallel_plan::make(c, 2);
    REQUIRE_FALSE(ffn.ok());
    CHECK(ffn.message().find("intermediate_size") != std::string::npos);

    auto zero = tensor_parallel_plan::make(llama3_8b(), 0);
    REQUIRE_FALSE(zero.ok());
    CHECK(zero.message().find("at least 1") != std::string::npos);

    model_config empty;
    CHECK_FALSE(tensor_parallel_plan::make(empty, 1).ok());
}

TEST_CASE("tp_plan: per-rank weight bytes shrink with tp and sum to the sharded total") {
    const model_config c = llama3_8b();
    auto one = tensor_parallel_plan::make(c, 1);
    auto two = tensor_parallel_plan::make(c, 2);
    REQUIRE(one.ok());
    REQUIRE(two.ok());
    const int64_t full = one->rank_weight_bytes(c, 0, 2);
    // Llama-3-8B in BF16 is about 16.06e9 bytes.
    CHECK(full > 16'000'000'000LL);
    CHECK(full < 16'100'000'000LL);
    const int64_t half = two->rank_weight_bytes(c, 0, 2);
    CHECK(half == two->rank_weight_bytes(c, 1, 2));
    // Replicated embedding + lm_head + norms are counted on both ranks.
    const int64_t replicated =
        2 * c.vocab_size * c.hidden_size * 2 + (2 * c.num_layers + 1) * c.hidden_size * 4;
    CHECK(2 * half - replicated == full);
}

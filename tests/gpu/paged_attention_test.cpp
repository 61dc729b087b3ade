// Paged attention against a double-precision reference: decode tokens and
// prefill chunks of several sequences in one batch, K/V scattered over shuffled
// cache blocks, GQA groups 1..8, head dims 8..256, odd block sizes, with and
// without key splits, with and without a sliding window. Also checks the host
// work-item plan (batch_plan) without a GPU.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "core/batch_builder.hpp"
#include "backends/cuda/batch_plan.hpp"
#include "cuda/paged_attention.cuh"
#include "gpu_test_support.hpp"

using namespace actorlm;
using namespace actorlm::cuda;
using namespace actorlm::test;

namespace {

struct attention_case {
    dtype type;
    int32_t head_dim, num_heads, num_kv_heads, block_size;
    std::vector<int32_t> context;  // per sequence: tokens after this step
    std::vector<int32_t> queries;  // per sequence: tokens computed this step (the last ones)
    int32_t window = 0;            // sliding window; 0: full causal attention
};

void run_case(const attention_case& c, std::mt19937& rng) {
    const int32_t seqs = static_cast<int32_t>(c.context.size());
    int32_t max_blocks = 0, total_blocks = 0;
    for (int32_t l : c.context) {
        max_blocks = std::max(max_blocks, (l + c.block_size - 1) / c.block_size);
        total_blocks += (l + c.block_size - 1) / c.block_size;
    }
    const int32_t num_blocks = total_blocks + 3;
    std::vector<int32_t> free_blocks(static_cast<size_t>(num_blocks));
    for (int32_t i = 0; i < num_blocks; ++i) free_blocks[i] = i;
    std::shuffle(free_blocks.begin(), free_blocks.end(), rng);

    forward_batch b;
    b.max_blocks_per_seq = max_blocks;
    b.block_tables.assign(static_cast<size_t>(seqs) * max_blocks, 0);
    b.query_start_loc.push_back(0);
    size_t next_free = 0;
    for (int32_t s = 0; s < seqs; ++s) {
        const int32_t used = (c.context[s] + c.block_size - 1) / c.block_size;
        for (int32_t k = 0; k < used; ++k)
            b.block_tables[s * max_blocks + k] = free_blocks[next_free++];
        for (int32_t p = c.context[s] - c.queries[s]; p < c.context[s]; ++p) {
            b.token_ids.push_back(0);
            b.positions.push_back(p);
            b.slot_mapping.push_back(
                static_cast<int64_t>(b.block_tables[s * max_blocks + p / c.block_size]) *
                    c.block_size +
                p % c.block_size);
        }
        b.query_start_loc.push_back(b.num_tokens());
        b.seq_lens.push_back(c.context[s]);
    }
    const int32_t n = b.num_tokens();
    model_config mc;
    mc.vocab_size = 1;
    kv_cache_spec kv{num_blocks, c.block_size, c.type};
    const int32_t tpi = attention_tokens_per_item(c.num_heads, c.num_kv_heads);
    REQUIRE(tpi > 0);
    auto plan = batch_plan::make(b, mc, kv, tpi);
    REQUIRE(plan.ok());

    const int32_t hd = c.head_dim, group = c.num_heads / c.num_kv_heads;
    const size_t cache_elems = static_cast<size_t>(num_blocks) * c.block_size * c.num_kv_heads * hd;
    auto kc = random_floats(rng, cache_elems), vc = random_floats(rng, cache_elems);
    auto q = random_floats(rng, static_cast<size_t>(n) * c.num_heads * hd, -2, 2);
    for (auto* v : {&kc, &vc, &q})
        for (float& x : *v) x = round_to(c.type, x);
    device_array d_k(encode(c.type, kc)), d_v(encode(c.type, vc)), d_q(encode(c.type, q));
    device_array d_meta(plan->blob);
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));

    // Reference.
    std::vector<double> ref(static_cast<size_t>(n) * c.num_heads * hd);
    for (int32_t s = 0; s < seqs; ++s)
        for (int32_t t = b.query_start_loc[s]; t < b.query_start_loc[s + 1]; ++t)
            for (int32_t h = 0; h < c.num_heads; ++h) {
                const int32_t kvh = h / group, keys = b.positions[t] + 1;
                // Key j is seen iff p - j < window (transformers' sliding_window_overlay).
                auto seen = [&](int32_t j) { return c.window == 0 || keys - 1 - j < c.window; };
                std::vector<double> sc(static_cast<size_t>(keys));
                double mx = -1e300;
                for (int32_t j = 0; j < keys; ++j) {
                    if (!seen(j)) continue;
                    const int64_t slot =
                        static_cast<int64_t>(b.block_tables[s * max_blocks + j / c.block_size]) *
                            c.block_size +
                        j % c.block_size;
                    double dot = 0;
                    for (int32_t d = 0; d < hd; ++d)
                        dot += double(q[(static_cast<size_t>(t) * c.num_heads + h) * hd + d]) *
                               kc[(slot * c.num_kv_heads + kvh) * hd + d];
                    sc[j] = dot * scale;
                    mx = std::max(mx, sc[j]);
                }
                double sum = 0;
                for (int32_t j = 0; j < keys; ++j)
                    sum += (sc[j] = seen(j) ? std::exp(sc[j] - mx) : 0.0);
                for (int32_t j = 0; j < keys; ++j) {
                    const int64_t slot =
                        static_cast<int64_t>(b.block_tables[s * max_blocks + j / c.block_size]) *
                            c.block_size +
                        j % c.block_size;
                    for (int32_t d = 0; d < hd; ++d)
                        ref[(static_cast<size_t>(t) * c.num_heads + h) * hd + d] +=
                            sc[j] / sum * vc[(slot * c.num_kv_heads + kvh) * hd + d];
                }
            }

    for (int32_t splits : {1, 3, 16}) {
        device_array d_out(static_cast<size_t>(n) * c.num_heads * hd * dtype_block_bytes(c.type));
        device_array d_ws(sizeof(float) * static_cast<size_t>(attention_split_workspace_floats(
                                              n, c.num_heads, splits, hd)));
        const char* m = d_meta.as<char>();
        paged_attention_args a;
        a.type = c.type;
        a.q = d_q.get();
        a.q_token_stride = static_cast<int64_t>(c.num_heads) * hd;
        a.k_cache = d_k.get();
        a.v_cache = d_v.get();
        a.out = d_out.get();
        a.out_token_stride = static_cast<int64_t>(c.num_heads) * hd;
        a.positions = reinterpret_cast<const int32_t*>(m + plan->off_positions);
        a.block_tables = reinterpret_cast<const int32_t*>(m + plan->off_block_tables);
        a.max_blocks_per_seq = max_blocks;
        a.block_size = c.block_size;
        a.items = reinterpret_cast<const attention_work_item*>(m + plan->off_items);
        a.num_items = plan->num_items;
        a.num_tokens = n;
        a.num_heads = c.num_heads;
        a.num_kv_heads = c.num_kv_heads;
        a.head_dim = hd;
        a.scale = scale;
        a.num_splits = splits;
        a.split_workspace = d_ws.as<float>();
        a.sliding_window = c.window;
        REQUIRE(paged_attention(a, nullptr).ok());
        auto out = decode(c.type, d_out.read<uint8_t>());
        const double e = nmse(out, ref);
        CHECK_MESSAGE(e < nmse_bound(c.type),
                      dtype_name(c.type) << " hd=" << hd << " heads=" << c.num_heads << "/"
                                         << c.num_kv_heads << " bs=" << c.block_size << " splits="
                                         << splits << " window=" << c.window << " nmse=" << e);
    }
}

}  // namespace

TEST_CASE("gpu: paged attention matches the reference on mixed decode/prefill batches") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(11);
    for (dtype t : k_float_types) {
        // Decode only (one token per sequence), long and short contexts.
        run_case({t, 128, 32, 8, 16, {1, 17, 300, 1025}, {1, 1, 1, 1}}, rng);
        // Prefill chunks after a cached prefix, plus decode, odd block size.
        run_case({t, 64, 8, 8, 5, {40, 7, 1, 100}, {40, 3, 1, 33}}, rng);
        // Tiny heads (stories260K: 8 heads over 4 KV heads, head_dim 8).
        run_case({t, 8, 8, 4, 16, {9, 64, 2}, {9, 1, 2}}, rng);
        // Wide heads and a GQA group of 8 (Llama-3-70B shape per rank).
        run_case({t, 256, 16, 2, 16, {70, 3}, {5, 3}}, rng);
        // Group of 16 at the kernel limit, head_dim not a multiple of 32.
        run_case({t, 72, 16, 1, 8, {50, 21}, {50, 1}}, rng);
        // head_dim not a multiple of 8: the element-wise K/V tile load.
        run_case({t, 20, 4, 2, 16, {33, 5}, {3, 5}}, rng);
    }
}

TEST_CASE("gpu: paged attention honours a sliding window (decode, prefill chunks, splits)") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(12);
    for (dtype t : k_float_types) {
        // Decode far past the window; windows shorter than a tile, a tile, odd sizes.
        run_case({t, 128, 32, 8, 16, {1, 17, 300, 1025}, {1, 1, 1, 1}, 5}, rng);
        run_case({t, 128, 32, 8, 16, {40, 300, 1025}, {1, 1, 1}, 32}, rng);
        run_case({t, 128, 32, 8, 16, {40, 300, 1025}, {1, 1, 1}, 100}, rng);
        // Prefill chunks that start past the window, odd block size; window 1 (itself only).
        run_case({t, 64, 8, 8, 5, {40, 7, 1, 100}, {40, 3, 1, 33}, 9}, rng);
        run_case({t, 64, 8, 8, 5, {40, 100}, {40, 33}, 1}, rng);
        // Items of 16 tokens whose rows start in different tiles; element-wise K/V loads.
        run_case({t, 16, 4, 4, 16, {200}, {64}, 37}, rng);
        run_case({t, 20, 4, 2, 16, {70, 5}, {30, 5}, 11}, rng);
        // Window longer than every context: the same as no window.
        run_case({t, 64, 8, 2, 16, {50, 21}, {50, 1}, 4096}, rng);
    }
}

TEST_CASE("gpu: attention work items cover every token in GQA-sized chunks (host)") {
    forward_batch b;
    b.token_ids = {1, 2, 3, 4, 5, 6, 7};
    b.positions = {0, 1, 2, 3, 4, 9, 10};
    b.query_start_loc = {0, 5, 7};
    b.seq_lens = {5, 11};
    b.max_blocks_per_seq = 3;
    b.block_tables = {2, 0, 0, 1, 3, 4};
    b.slot_mapping = {8, 9, 10, 11, -1, 4 * 4 + 1, 4 * 4 + 2};
    b.logits_indices = {4, 6};
    model_config c;
    c.vocab_size = 10;
    kv_cache_spec kv{5, 4, dtype::bf16};
    auto plan = batch_plan::make(b, c, kv, 2);
    REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.message()));
    REQUIRE(plan->num_items == 4);  // 5 tokens -> 2+2+1, 2 tokens -> 1 item
    std::vector<attention_work_item> items(4);
    std::memcpy(items.data(), plan->blob.data() + plan->off_items, sizeof(attention_work_item) * 4);
    CHECK(items[0].first_token == 0);
    CHECK(items[0].num_keys == 2);
    CHECK(items[2].num_tokens == 1);
    CHECK(items[2].num_keys == 5);
    CHECK(items[3].seq == 1);
    CHECK(items[3].num_keys == 11);
    CHECK(plan->max_keys == 11);
    CHECK(plan->num_logits == 2);

    forward_batch bad = b;
    bad.slot_mapping[1] = 5;  // not the block table's slot for position 1
    auto e = batch_plan::make(bad, c, kv, 2);
    REQUIRE_FALSE(e.ok());
    CHECK(e.message().find("slot") != std::string::npos);
    bad = b;
    bad.token_ids[3] = 10;
    CHECK(batch_plan::make(bad, c, kv, 2).message().find("vocabulary") != std::string::npos);
    bad = b;
    bad.block_tables[4] = 5;  // block id beyond the cache
    CHECK(batch_plan::make(bad, c, kv, 2).message().find("block") != std::string::npos);
    bad = b;
    bad.positions[6] = 11;  // not inside the sequence length
    CHECK(batch_plan::make(bad, c, kv, 2).message().find("position") != std::string::npos);
    bad = b;
    bad.logits_indices = {7};
    CHECK(batch_plan::make(bad, c, kv, 2).message().find("logits") != std::string::npos);
    bad = b;
    bad.query_start_loc = {0, 5, 6};
    CHECK_FALSE(batch_plan::make(bad, c, kv, 2).ok());
    bad = b;
    bad.mrope_positions.assign(3 * b.token_ids.size(), 0);  // Qwen2.5-VL's image positions
    CHECK(batch_plan::make(bad, c, kv, 2).message().find("M-RoPE") != std::string::npos);
    forward_batch empty;
    CHECK_FALSE(batch_plan::make(empty, c, kv, 2).ok());
}

TEST_CASE("gpu: batches from the engine's batch_builder pass the CUDA batch checks (host)") {
    // The scheduler side lays out forward_batch; the CUDA executor must accept it as is.
    const std::vector<int32_t> tokens_a = {1, 5, 9, 2, 7, 3, 3, 8, 1, 4};
    const std::vector<int32_t> tokens_b = {1, 6, 6};
    const std::vector<int32_t> blocks_a = {7, 2, 5};
    const std::vector<int32_t> blocks_b = {0};
    std::vector<core::batch_row> rows(2);
    rows[0].token_ids = tokens_a;
    rows[0].block_ids = blocks_a;
    rows[0].num_computed_tokens = 6;  // a chunk of a prompt after a cached prefix
    rows[0].num_scheduled_tokens = 4;
    rows[0].num_prompt_tokens = 10;
    rows[0].will_sample = true;
    rows[1].token_ids = tokens_b;
    rows[1].block_ids = blocks_b;
    rows[1].num_computed_tokens = 2;  // a decode step
    rows[1].num_scheduled_tokens = 1;
    rows[1].num_prompt_tokens = 2;
    rows[1].will_sample = true;
    const core::built_batch built = core::build_forward_batch(rows, 4);
    model_config c;
    c.vocab_size = 10;
    kv_cache_spec kv{8, 4, dtype::bf16};
    auto plan = batch_plan::make(built.batch, c, kv, 2);
    REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.message()));
    CHECK(plan->num_tokens == 5);
    CHECK(plan->num_logits == 2);
    CHECK(plan->num_items == 3);  // 4 tokens in items of 2, plus the decode token
    CHECK(plan->max_keys == 10);
    // Tables of two KV-cache groups (a CPU-only layout) are refused by name, not misread.
    const std::vector<int32_t> grouped_a = {7, 1, 2, 3, 5, 4};
    rows[0].block_ids = grouped_a;
    const std::vector<int32_t> grouped_b = {0, 6};
    rows[1].block_ids = grouped_b;
    const core::built_batch grouped = core::build_forward_batch(rows, 4, 2);
    auto refused = batch_plan::make(grouped.batch, c, kv, 2);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.message().find("KV-cache groups") != std::string::npos);
}

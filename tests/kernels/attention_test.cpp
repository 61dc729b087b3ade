// Paged attention against a dense double-precision softmax(q k^T / sqrt(d)) v:
// shuffled block tables, GQA groups, causal positions, every head size the
// AVX-512 group kernel specializes plus sizes off the 16-lane grid, blocks of
// 8/16/32 with partial tails, F32, F16 and q8_0 caches, portable, AVX2 and AVX-512
// variants, with and without a sliding window (the dense reference applies the same
// mask), causal and non-causal (an encoder's: every query sees the whole sequence), with
// and without attention soft-capping (Gemma 2's cap * tanh(score / cap)).
// q8_0 is also held to a worst-case bound against the unquantized values.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "cpu/attention.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/dequantize.hpp"
#include "cpu/half.hpp"
#include "cpu/quantize_q8_0.hpp"
#include "kernels/level_guard.hpp"

using namespace actorlm;
using namespace actorlm::cpu;

namespace {

struct attention_case {
    int32_t num_heads, num_kv_heads, head_dim, block_size, context, num_queries;
    dtype type;
    int32_t window = 0;  // sliding window; 0: full causal attention
    bool non_causal = false;  // every query attends to all `context` keys (an encoder's)
    float softcap = 0.0f;     // the kernel's attention soft-cap; 0: none
    float reference_softcap = -1.0f;  // the dense reference's; -1: the same as softcap
};

// What one case measured: the kernel against a dense double-precision attention over the
// values the cache holds (after F16 rounding or q8_0 quantization: the kernel's own error),
// and against the dense attention over the exact values written (the cache type's error,
// q8_0 cases only), with that error's bound.
struct case_errors {
    double vs_cache = 0;  // max |paged - dense(cache values)|
    double vs_exact = 0;  // max |paged - dense(values before quantization)|
    double bound = 0;     // worst-case |dense(cache) - dense(exact)|, see below
};

// Dense softmax(q k^T * scale) v of query token t, head h, element i, over the keys and
// values kd / vd (by position); also returns the largest score change that replacing
// kd by ka makes (for the q8_0 bound).
struct dense_reference {
    const attention_case& c;
    const std::vector<float>& q;
    const std::vector<int32_t>& positions;
    int64_t row, q_dim;

    std::vector<double> head(const std::vector<double>& kd, const std::vector<double>& vd,
                             int32_t t, int32_t h) const {
        const int64_t kvh = h / (c.num_heads / c.num_kv_heads);
        const int32_t n = keys(t);
        // Dense mask, written from the definition: key j is seen iff j <= p and
        // p - j < window (transformers' kv_idx > q_idx - sliding_window); non-causal:
        // every key of the context.
        auto seen = [&](int32_t j) { return c.window == 0 || positions[t] - j < c.window; };
        std::vector<double> s(static_cast<size_t>(n));
        double mx = -1e300, sum = 0;
        for (int32_t j = 0; j < n; ++j) {
            if (!seen(j)) continue;
            s[j] = score(kd, t, h, j, kvh);
            mx = std::max(mx, s[j]);
        }
        for (int32_t j = 0; j < n; ++j) sum += (s[j] = seen(j) ? std::exp(s[j] - mx) : 0.0);
        std::vector<double> o(static_cast<size_t>(c.head_dim), 0.0);
        for (int32_t i = 0; i < c.head_dim; ++i)
            for (int32_t j = 0; j < n; ++j) o[i] += s[j] / sum * vd[j * row + kvh * c.head_dim + i];
        return o;
    }
    int32_t keys(int32_t t) const { return c.non_causal ? c.context : positions[t] + 1; }
    double score(const std::vector<double>& kd, int32_t t, int32_t h, int32_t j,
                 int64_t kvh) const {
        double d = 0;
        for (int32_t i = 0; i < c.head_dim; ++i)
            d += q[t * q_dim + h * c.head_dim + i] * kd[j * row + kvh * c.head_dim + i];
        d /= std::sqrt(static_cast<double>(c.head_dim));
        // Soft-capping from its definition: cap * tanh(score / cap) (Gemma 2).
        const double cap = c.reference_softcap < 0 ? c.softcap : c.reference_softcap;
        return cap > 0 ? cap * std::tanh(d / cap) : d;
    }
};

case_errors run_case(const attention_case& c, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.5f, 1.5f);
    const int32_t num_blocks = (c.context + c.block_size - 1) / c.block_size + 3;
    std::vector<int32_t> table(static_cast<size_t>(num_blocks));
    for (int32_t i = 0; i < num_blocks; ++i) table[i] = i;
    std::shuffle(table.begin(), table.end(), rng);

    const int64_t row = static_cast<int64_t>(c.num_kv_heads) * c.head_dim;
    const size_t cache_elems = static_cast<size_t>(num_blocks) * c.block_size * row;
    std::vector<float> k32(cache_elems), v32(cache_elems);
    std::vector<uint16_t> k16(cache_elems), v16(cache_elems);
    std::vector<block_q8_0> k8(cache_elems / 32 + 1), v8(k8.size());
    // Dense copies of what the cache holds (after F16 rounding or q8_0 quantization) and of
    // the exact values written, by position.
    std::vector<double> kd(static_cast<size_t>(c.context * row)), vd(kd.size());
    std::vector<double> ke(kd.size()), ve(kd.size());
    std::vector<float> kr(static_cast<size_t>(row)), vr(kr.size()), kq(kr.size()), vq(kr.size());
    for (int32_t pos = 0; pos < c.context; ++pos) {
        const int64_t slot =
            static_cast<int64_t>(table[pos / c.block_size]) * c.block_size + pos % c.block_size;
        for (int64_t i = 0; i < row; ++i) {
            kr[i] = dist(rng);
            vr[i] = dist(rng);
        }
        if (c.type == dtype::q8_0) {  // the row as kv_cache_storage writes it
            quantize_row_q8_0(kr.data(), k8.data() + slot * row / 32, row);
            quantize_row_q8_0(vr.data(), v8.data() + slot * row / 32, row);
            dequantize_row(dtype::q8_0, k8.data() + slot * row / 32, kq.data(), row);
            dequantize_row(dtype::q8_0, v8.data() + slot * row / 32, vq.data(), row);
        }
        for (int64_t i = 0; i < row; ++i) {
            float kv = kr[i], vv = vr[i];
            if (c.type == dtype::f16) {
                k16[slot * row + i] = fp32_to_fp16(kv);
                v16[slot * row + i] = fp32_to_fp16(vv);
                kv = fp16_to_fp32(k16[slot * row + i]);
                vv = fp16_to_fp32(v16[slot * row + i]);
            } else if (c.type == dtype::q8_0) {
                kv = kq[i];
                vv = vq[i];
            }
            k32[slot * row + i] = kv;
            v32[slot * row + i] = vv;
            kd[pos * row + i] = kv;
            vd[pos * row + i] = vv;
            ke[pos * row + i] = kr[i];
            ve[pos * row + i] = vr[i];
        }
    }
    paged_kv_layer kv;
    kv.k = c.type == dtype::f16    ? static_cast<const void*>(k16.data())
           : c.type == dtype::q8_0 ? static_cast<const void*>(k8.data())
                                   : k32.data();
    kv.v = c.type == dtype::f16    ? static_cast<const void*>(v16.data())
           : c.type == dtype::q8_0 ? static_cast<const void*>(v8.data())
                                   : v32.data();
    kv.type = c.type;
    kv.block_size = c.block_size;
    kv.num_kv_heads = c.num_kv_heads;
    kv.head_dim = c.head_dim;

    // The query tokens are the last num_queries positions of the context.
    const int64_t q_dim = static_cast<int64_t>(c.num_heads) * c.head_dim;
    std::vector<float> q(static_cast<size_t>(c.num_queries * q_dim));
    for (float& x : q) x = dist(rng);
    std::vector<int32_t> positions(static_cast<size_t>(c.num_queries));
    for (int32_t t = 0; t < c.num_queries; ++t) positions[t] = c.context - c.num_queries + t;
    std::vector<float> out(q.size(), -7.0f);
    attention_query query{q.data(),   q_dim, positions.data(), c.num_queries, table.data(),
                          out.data(), q_dim};
    query.sliding_window = c.window;
    query.context_len = c.non_causal ? c.context : 0;
    query.softcap = c.softcap;
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    for (int32_t g = 0; g < c.num_kv_heads; ++g)
        paged_attention_kv_head(kv, query, c.num_heads, g, scale);

    const dense_reference ref{c, q, positions, row, q_dim};
    case_errors e;
    double max_dv = 0, max_v = 0;
    for (size_t i = 0; i < vd.size(); ++i) {
        max_dv = std::max(max_dv, std::abs(vd[i] - ve[i]));
        max_v = std::max(max_v, std::abs(ve[i]));
    }
    for (int32_t t = 0; t < c.num_queries; ++t)
        for (int32_t h = 0; h < c.num_heads; ++h) {
            const std::vector<double> o = ref.head(kd, vd, t, h);
            for (int32_t i = 0; i < c.head_dim; ++i)
                e.vs_cache =
                    std::max(e.vs_cache, std::abs(o[i] - out[t * q_dim + h * c.head_dim + i]));
            if (c.type != dtype::q8_0) continue;
            const std::vector<double> x = ref.head(ke, ve, t, h);
            double delta = 0;  // largest score change the quantized keys make
            const int64_t kvh = h / (c.num_heads / c.num_kv_heads);
            for (int32_t j = 0; j < ref.keys(t); ++j)
                delta = std::max(
                    delta, std::abs(ref.score(kd, t, h, j, kvh) - ref.score(ke, t, h, j, kvh)));
            // Every score moves by at most delta, so every softmax weight p_j moves to within
            // p_j * [e^-2delta, e^2delta] and the weights move by at most e^2delta - 1 in total;
            // the output then moves by at most max|dv| (the values' own quantization error,
            // weighted by weights summing to 1) + max|v| * (e^2delta - 1). The kernel's float
            // arithmetic adds ~1e-6 (the vs_cache check).
            e.bound = std::max(e.bound, max_dv + max_v * (std::exp(2 * delta) - 1) + 1e-5);
            for (int32_t i = 0; i < c.head_dim; ++i)
                e.vs_exact =
                    std::max(e.vs_exact, std::abs(x[i] - out[t * q_dim + h * c.head_dim + i]));
        }
    return e;
}

}  // namespace

TEST_CASE("attention: paged result equals dense softmax attention") {
    const cpu_level saved = active_cpu_level();
    const attention_case cases[] = {
        {8, 4, 8, 16, 1, 1, dtype::f32},      // first token: attends to itself only
        {8, 4, 8, 16, 37, 37, dtype::f32},    // whole prefill, causal
        {9, 3, 64, 16, 300, 5, dtype::f32},   // SmolLM2 shape, chunk at the end
        {4, 1, 24, 8, 50, 3, dtype::f32},     // head_dim off the 16-lane grid, MQA
        {4, 4, 128, 32, 129, 2, dtype::f32},  // MHA, block boundary + 1
        {8, 2, 64, 16, 200, 4, dtype::f16},  {4, 2, 40, 8, 33, 33, dtype::f16},
        {32, 8, 128, 16, 70, 3, dtype::f16},  // Llama-3-8B group of 4, partial last block
        {6, 2, 16, 8, 45, 45, dtype::f32},    // 16-wide head, blocks of 8 (half a key group)
        {2, 1, 256, 32, 40, 1, dtype::f32},   // 256-wide head, one block with a tail
        {9, 3, 64, 16, 16, 1, dtype::f16},    // exactly one full block
        {4, 2, 96, 16, 17, 2, dtype::f32},
        {32, 2, 64, 16, 40, 2, dtype::f16},  // group of 16: wider than AVX2's registers
        {6, 3, 20, 8, 30, 3, dtype::f16},    // head_dim off the 8-lane grid
        {10, 1, 20, 8, 30, 3, dtype::f32},   // group of 10, head off the 8-lane grid
    };
    for (cpu_level level : test::supported_levels()) {
        REQUIRE(set_cpu_level(level).ok());
        uint32_t seed = 1;
        for (const attention_case& c : cases) {
            CAPTURE(static_cast<int>(level));
            CAPTURE(c.head_dim);
            CAPTURE(c.context);
            CHECK(run_case(c, seed++).vs_cache < 2e-6);
        }
    }
    REQUIRE(set_cpu_level(saved).ok());
}

TEST_CASE("attention: a sliding window equals dense attention under the same mask") {
    const cpu_level saved = active_cpu_level();
    const attention_case cases[] = {
        {8, 4, 8, 16, 37, 37, dtype::f32, 1},     // window 1: each token sees only itself
        {8, 4, 8, 16, 37, 37, dtype::f32, 5},     // window inside one block, prefill
        {9, 3, 64, 16, 300, 5, dtype::f32, 40},   // group kernel, window starts mid-block
        {4, 1, 24, 8, 50, 50, dtype::f32, 13},    // head_dim off the 16-lane grid (tail ops)
        {4, 4, 128, 32, 129, 2, dtype::f32, 32},  // window = block size, unaligned start
        {8, 2, 64, 16, 200, 4, dtype::f16, 17},   // window = block + 1
        {32, 8, 128, 16, 70, 3, dtype::f16, 64},
        {6, 2, 16, 8, 45, 45, dtype::f32, 16},  // window = two blocks of 8
        {2, 1, 256, 32, 40, 1, dtype::f32, 7},
        {4, 2, 96, 16, 17, 2, dtype::f32, 100},  // window longer than the context: no effect
        {4, 2, 16, 4, 64, 64, dtype::f32, 3},    // tiny blocks, every token crosses blocks
    };
    for (cpu_level level : test::supported_levels()) {
        REQUIRE(set_cpu_level(level).ok());
        uint32_t seed = 100;
        for (const attention_case& c : cases) {
            CAPTURE(static_cast<int>(level));
            CAPTURE(c.head_dim);
            CAPTURE(c.context);
            CAPTURE(c.window);
            CHECK(run_case(c, seed++).vs_cache < 2e-6);
        }
    }
    REQUIRE(set_cpu_level(saved).ok());
}

TEST_CASE("attention: q8_0 equals dense attention over its values, within a bound of the exact") {
    const cpu_level saved = active_cpu_level();
    const attention_case cases[] = {
        {9, 3, 64, 16, 300, 5, dtype::q8_0},      // SmolLM2 / rand-135m shape, decode chunk
        {32, 32, 64, 16, 200, 1, dtype::q8_0},    // rand-1.7b shape (MHA), one decode token
        {32, 8, 128, 16, 70, 3, dtype::q8_0},     // Llama-3-8B group of 4, partial last block
        {4, 4, 96, 32, 129, 2, dtype::q8_0},      // three blocks per head, block boundary + 1
        {2, 1, 256, 32, 40, 1, dtype::q8_0},      // 256-wide head
        {4, 4, 160, 16, 50, 2, dtype::q8_0},      // 160: no group-kernel size on AVX-512
        {8, 4, 8, 16, 37, 37, dtype::q8_0},       // stories260K: 4 heads of 8 share a block
        {4, 2, 16, 8, 45, 45, dtype::q8_0},       // heads of 16: two per block
        {4, 2, 48, 16, 33, 3, dtype::q8_0},       // heads of 48 straddle blocks
        {16, 1, 64, 16, 40, 2, dtype::q8_0},      // group of 16: the portable per-head path
        {9, 3, 64, 16, 300, 5, dtype::q8_0, 40},  // sliding window, starts mid-block
        {8, 4, 8, 16, 37, 37, dtype::q8_0, 5},    // window over shared blocks
    };
    for (cpu_level level : test::supported_levels()) {
        REQUIRE(set_cpu_level(level).ok());
        uint32_t seed = 200;
        for (const attention_case& c : cases) {
            CAPTURE(static_cast<int>(level));
            CAPTURE(c.head_dim);
            CAPTURE(c.context);
            CAPTURE(c.window);
            const case_errors e = run_case(c, seed++);
            CHECK(e.vs_cache < 2e-6);
            CHECK(e.vs_exact <= e.bound);
            // Measured 0.0013-0.009 (values in [-1.5, 1.5]; bounds 0.033-0.044): the typical
            // error sits well inside the worst case, which assumes every score error lines
            // up; 0.03 would flag a systematic bias the bound alone lets through.
            CHECK(e.vs_exact < 0.03);
        }
    }
    REQUIRE(set_cpu_level(saved).ok());
}

TEST_CASE("attention: a windowed query never reads keys older than its window") {
    // Keys before the window are poisoned (NaN): the output must stay finite and equal the
    // output with ordinary values there, on every CPU level.
    const cpu_level saved = active_cpu_level();
    const int32_t hd = 32, bs = 4, window = 6;
    std::vector<float> k(static_cast<size_t>(5 * bs * hd)), v(k.size());
    for (size_t i = 0; i < k.size(); ++i) {
        k[i] = static_cast<float>(i % 7) * 0.1f;
        v[i] = static_cast<float>(i % 5);
    }
    const std::vector<int32_t> table = {3, 0, 4, 1, 2};
    const int32_t pos = 17;  // attends 12..17
    std::vector<float> q(hd, 0.3f), clean(hd), poisoned(hd);
    for (cpu_level level : test::supported_levels()) {
        REQUIRE(set_cpu_level(level).ok());
        std::vector<float> kk = k, vv = v;
        paged_kv_layer kv{kk.data(), vv.data(), dtype::f32, bs, 1, hd};
        attention_query query{q.data(), hd, &pos, 1, table.data(), clean.data(), hd};
        query.sliding_window = window;
        paged_attention_kv_head(kv, query, 1, 0, 0.25f);
        for (int32_t p = 0; p <= pos - window; ++p) {
            const int64_t slot = table[p / bs] * bs + p % bs;
            for (int32_t i = 0; i < hd; ++i) kk[slot * hd + i] = vv[slot * hd + i] = NAN;
        }
        query.out = poisoned.data();
        paged_attention_kv_head(kv, query, 1, 0, 0.25f);
        CHECK(clean == poisoned);
    }
    REQUIRE(set_cpu_level(saved).ok());
}

TEST_CASE("attention: a query never sees positions after its own") {
    // Changing the cache beyond a query's position must not change its output.
    const int32_t hd = 16, bs = 4, ctx = 12;
    std::vector<float> k(static_cast<size_t>(4 * bs * hd)), v(k.size());
    for (size_t i = 0; i < k.size(); ++i) {
        k[i] = static_cast<float>(i % 7) * 0.1f;
        v[i] = static_cast<float>(i % 5);
    }
    std::vector<int32_t> table = {2, 0, 3, 1};
    paged_kv_layer kv{k.data(), v.data(), dtype::f32, bs, 1, hd};
    std::vector<float> q(hd, 0.3f), out1(hd), out2(hd);
    const int32_t pos = 5;
    attention_query query{q.data(), hd, &pos, 1, table.data(), out1.data(), hd};
    paged_attention_kv_head(kv, query, 1, 0, 0.25f);
    for (int32_t p = pos + 1; p < ctx; ++p) {
        const int64_t slot = table[p / bs] * bs + p % bs;
        for (int32_t i = 0; i < hd; ++i) v[slot * hd + i] = 1000.0f;
    }
    query.out = out2.data();
    paged_attention_kv_head(kv, query, 1, 0, 0.25f);
    CHECK(out1 == out2);
}

TEST_CASE("attention: non-causal queries see every key of the sequence, as dense attention") {
    const cpu_level saved = active_cpu_level();
    const bool nc = true;
    const attention_case cases[] = {
        {8, 4, 8, 16, 37, 37, dtype::f32, 0, nc},    // whole encoder prompt in one step
        {4, 4, 8, 16, 1, 1, dtype::f32, 0, nc},      // one token: itself only
        {9, 3, 64, 16, 300, 5, dtype::f32, 0, nc},   // group kernel over a long context
        {4, 1, 24, 8, 50, 50, dtype::f32, 0, nc},    // head_dim off the 16-lane grid
        {4, 4, 128, 32, 129, 7, dtype::f16, 0, nc},  // MHA, block boundary + 1
        {6, 2, 16, 8, 45, 45, dtype::f16, 0, nc},    // 16-wide head, blocks of 8
        {10, 1, 20, 8, 30, 30, dtype::f32, 0, nc},   // group of 10, head off the 8-lane grid
        {4, 4, 8, 16, 40, 40, dtype::q8_0, 0, nc},   // q8_0 heads smaller than a block
        {4, 2, 64, 16, 70, 70, dtype::q8_0, 0, nc},
    };
    for (cpu_level level : test::supported_levels()) {
        REQUIRE(set_cpu_level(level).ok());
        uint32_t seed = 300;
        for (const attention_case& c : cases) {
            CAPTURE(static_cast<int>(level));
            CAPTURE(c.head_dim);
            CAPTURE(c.context);
            CAPTURE(static_cast<int>(c.type));
            CHECK(run_case(c, seed++).vs_cache < 2e-6);
        }
    }
    REQUIRE(set_cpu_level(saved).ok());
}

TEST_CASE("attention: soft-capped scores equal dense attention with cap * tanh(score / cap)") {
    // Scores here reach about +-3 (q, k in [-1.5, 1.5]), so caps of 0.5-2 bend most of them
    // and a cap of 50 (Gemma 2's) bends the largest a little.
    const cpu_level saved = active_cpu_level();
    const attention_case cases[] = {
        {8, 4, 8, 16, 37, 37, dtype::f32, 0, false, 1.0f},     // portable-size heads, prefill
        {9, 3, 64, 16, 300, 5, dtype::f32, 0, false, 2.0f},    // group kernels
        {9, 3, 64, 16, 300, 5, dtype::f32, 40, false, 0.5f},   // with a sliding window
        {4, 1, 24, 8, 50, 50, dtype::f32, 13, false, 1.5f},    // head off the 16-lane grid
        {2, 1, 256, 32, 40, 1, dtype::f32, 0, false, 50.0f},   // Gemma 2's cap, 256-wide head
        {8, 2, 64, 16, 200, 4, dtype::f16, 17, false, 1.0f},   // F16 cache
        {6, 3, 20, 8, 30, 3, dtype::f16, 0, false, 0.75f},     // F16, head off the 8-lane grid
        {32, 2, 64, 16, 40, 2, dtype::f16, 0, false, 1.0f},    // group of 16: per-head path
        {9, 3, 64, 16, 300, 5, dtype::q8_0, 0, false, 1.0f},   // q8_0, group kernel
        {8, 4, 8, 16, 37, 37, dtype::q8_0, 5, false, 1.0f},    // q8_0 heads smaller than a block
    };
    for (cpu_level level : test::supported_levels()) {
        REQUIRE(set_cpu_level(level).ok());
        uint32_t seed = 400;
        for (const attention_case& c : cases) {
            CAPTURE(static_cast<int>(level));
            CAPTURE(c.head_dim);
            CAPTURE(c.context);
            CAPTURE(static_cast<int>(c.type));
            CAPTURE(c.softcap);
            CHECK(run_case(c, seed).vs_cache < 2e-6);
            // The cap matters: the same case against the uncapped reference is far off
            // (except Gemma's gentle 50, which moves these scores by < 0.01).
            attention_case uncapped = c;
            uncapped.reference_softcap = 0.0f;
            if (c.softcap <= 2.0f) CHECK(run_case(uncapped, seed).vs_cache > 1e-2);
            ++seed;
        }
    }
    REQUIRE(set_cpu_level(saved).ok());
}

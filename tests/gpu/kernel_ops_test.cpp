// Element-wise and row kernels (embedding, RMSNorm, RoPE, SiLU*up, bias, KV write,
// row gather, conversion, random fill) against double-precision CPU references,
// over f32/f16/bf16 and odd shapes, with the NMSE bound of each element type.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "cuda/activation.cuh"
#include "cuda/convert.cuh"
#include "cuda/gather.cuh"
#include "cuda/kv_cache.cuh"
#include "cuda/rms_norm.cuh"
#include "cuda/rope.cuh"
#include "gpu_test_support.hpp"

using namespace actorlm;
using namespace actorlm::cuda;
using namespace actorlm::test;

TEST_CASE("gpu: embedding gather copies the rows of the token ids") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(1);
    for (dtype t : k_float_types)
        for (int64_t hidden : {1, 19, 64, 333}) {
            const int64_t vocab = 37;
            auto table = random_floats(rng, static_cast<size_t>(vocab * hidden));
            for (float& v : table) v = round_to(t, v);
            const std::vector<int32_t> ids = {0, 36, 5, 5, 17, 1, 36, 9, 0, 22, 3, 30, 11};
            device_array d_table(encode(t, table)), d_ids(ids);
            device_array d_out(ids.size() * static_cast<size_t>(hidden) * sizeof(float));
            REQUIRE(embedding_gather(d_ids.as<int32_t>(), static_cast<int32_t>(ids.size()),
                                     d_table.get(), t, vocab, hidden, d_out.as<float>(), nullptr)
                        .ok());
            auto out = d_out.read<float>();
            for (size_t i = 0; i < ids.size(); ++i)
                for (int64_t c = 0; c < hidden; ++c)
                    REQUIRE(out[i * hidden + c] == table[ids[i] * hidden + c]);
        }
}

TEST_CASE("gpu: rms_norm matches the double reference for every output type") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(2);
    for (dtype t : k_float_types)
        for (int32_t cols : {8, 63, 1000, 4096})
            for (int32_t rows : {1, 3, 17}) {
                auto x = random_floats(rng, static_cast<size_t>(rows) * cols, -3, 3);
                auto w = random_floats(rng, static_cast<size_t>(cols), 0.5f, 1.5f);
                device_array d_x(x), d_w(w);
                device_array d_y(static_cast<size_t>(rows) * cols * dtype_block_bytes(t));
                REQUIRE(rms_norm(d_x.get(), dtype::f32, {1, cols}, d_y.get(), t, {1, cols},
                                 d_w.as<float>(), rows, cols, 1e-5f, nullptr)
                            .ok());
                auto y = decode(t, d_y.read<uint8_t>());
                std::vector<double> ref(y.size());
                for (int32_t r = 0; r < rows; ++r) {
                    double ss = 0;
                    for (int32_t c = 0; c < cols; ++c)
                        ss += double(x[r * cols + c]) * x[r * cols + c];
                    const double inv = 1.0 / std::sqrt(ss / cols + 1e-5);
                    for (int32_t c = 0; c < cols; ++c)
                        ref[r * cols + c] = x[r * cols + c] * inv * w[c];
                }
                CHECK_MESSAGE(nmse(y, ref) < nmse_bound(t), dtype_name(t)
                                                                << " " << rows << "x" << cols);
            }
}

TEST_CASE("gpu: per-head rms_norm works in place inside the fused QKV rows") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(3);
    for (dtype t : k_float_types)
        for (int32_t hd : {8, 64, 128}) {
            const int32_t tokens = 5, heads = 3, stride = hd * 7;  // other heads around them
            auto x = random_floats(rng, static_cast<size_t>(tokens) * stride, -2, 2);
            for (float& v : x) v = round_to(t, v);
            auto w = random_floats(rng, static_cast<size_t>(hd), 0.5f, 1.5f);
            device_array d_x(encode(t, x)), d_w(w);
            char* base = d_x.as<char>() + 2 * hd * dtype_block_bytes(t);  // heads 2..4
            REQUIRE(rms_norm(base, t, {heads, stride}, base, t, {heads, stride}, d_w.as<float>(),
                             tokens * heads, hd, 1e-6f, nullptr)
                        .ok());
            auto y = decode(t, d_x.read<uint8_t>());
            std::vector<double> ref(x.begin(), x.end());
            for (int32_t tok = 0; tok < tokens; ++tok)
                for (int32_t h = 2; h < 2 + heads; ++h) {
                    const size_t off = static_cast<size_t>(tok) * stride + h * hd;
                    double ss = 0;
                    for (int32_t d = 0; d < hd; ++d) ss += double(x[off + d]) * x[off + d];
                    const double inv = 1.0 / std::sqrt(ss / hd + 1e-6);
                    for (int32_t d = 0; d < hd; ++d) ref[off + d] = x[off + d] * inv * w[d];
                }
            CHECK(nmse(y, ref) < nmse_bound(t));
            for (int32_t tok = 0; tok < tokens; ++tok)  // heads 0, 1, 5, 6 untouched
                for (int32_t d = 0; d < 2 * hd; ++d)
                    REQUIRE(y[static_cast<size_t>(tok) * stride + d] ==
                            x[static_cast<size_t>(tok) * stride + d]);
        }
}

TEST_CASE("gpu: rope inverse frequencies follow the scaling rules (host)") {
    model_config c;
    c.head_dim = 128;
    c.rope_theta = 500000.0f;
    auto base = rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling);
    REQUIRE(base.size() == 64);
    CHECK(base[0] == doctest::Approx(1.0));
    CHECK(base[10] == doctest::Approx(std::pow(500000.0, -20.0 / 128)).epsilon(1e-6));
    c.rope_scaling.type = rope_scaling_type::linear;
    c.rope_scaling.factor = 4.0f;
    auto lin = rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling);
    for (size_t i = 0; i < 64; ++i) CHECK(lin[i] == doctest::Approx(base[i] / 4.0).epsilon(1e-6));
    c.rope_scaling = {rope_scaling_type::llama3, 8.0f, 1.0f, 4.0f, 8192};
    auto l3 = rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling);
    CHECK(l3[0] == base[0]);                                         // short wavelength kept
    CHECK(l3[63] == doctest::Approx(base[63] / 8.0).epsilon(1e-6));  // long wavelength / 8
    for (size_t i = 0; i < 64; ++i) {  // the smooth band lies between the two
        CHECK(l3[i] <= base[i] * (1 + 1e-6));
        CHECK(l3[i] >= base[i] / 8.0 * (1 - 1e-6));
    }
}

TEST_CASE("gpu: rope rotates Q and K heads (interleaved and NeoX), V untouched") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(4);
    for (dtype t : k_float_types)
        for (bool neox : {false, true})
            for (int32_t hd : {8, 64, 128}) {
                const int32_t tokens = 7, qh = 4, kh = 2, stride = (qh + 2 * kh) * hd;
                model_config c;
                c.head_dim = hd;
                c.rope_theta = 10000.0f;
                auto inv = rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling);
                std::vector<int32_t> pos = {0, 1, 2, 17, 300, 4095, 4999};
                auto x = random_floats(rng, static_cast<size_t>(tokens) * stride);
                for (float& v : x) v = round_to(t, v);
                device_array d_x(encode(t, x)), d_pos(pos), d_inv(inv);
                rope_args a;
                a.qkv = d_x.get();
                a.type = t;
                a.num_tokens = tokens;
                a.token_stride = stride;
                a.k_offset = static_cast<int64_t>(qh) * hd;
                a.num_q_heads = qh;
                a.num_k_heads = kh;
                a.head_dim = hd;
                a.positions = d_pos.as<int32_t>();
                a.inv_freq = d_inv.as<float>();
                a.neox = neox;
                REQUIRE(rope_inplace(a, nullptr).ok());
                auto y = decode(t, d_x.read<uint8_t>());
                std::vector<double> ref(x.begin(), x.end());
                for (int32_t tok = 0; tok < tokens; ++tok)
                    for (int32_t h = 0; h < qh + kh; ++h)
                        for (int32_t i = 0; i < hd / 2; ++i) {
                            const size_t off = static_cast<size_t>(tok) * stride + h * hd;
                            const size_t i0 = off + (neox ? i : 2 * i);
                            const size_t i1 = off + (neox ? i + hd / 2 : 2 * i + 1);
                            const double ang = double(pos[tok]) * std::pow(10000.0, -2.0 * i / hd);
                            ref[i0] = x[i0] * std::cos(ang) - x[i1] * std::sin(ang);
                            ref[i1] = x[i0] * std::sin(ang) + x[i1] * std::cos(ang);
                        }
                CHECK_MESSAGE(nmse(y, ref) < nmse_bound(t) * 10,
                              dtype_name(t) << " neox=" << neox << " hd=" << hd);
                for (int32_t tok = 0; tok < tokens; ++tok)
                    for (int32_t d = (qh + kh) * hd; d < stride; ++d)
                        REQUIRE(y[static_cast<size_t>(tok) * stride + d] ==
                                x[static_cast<size_t>(tok) * stride + d]);
            }
}

TEST_CASE("gpu: silu_and_mul and add_bias match the reference") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(5);
    for (dtype t : k_float_types)
        for (int64_t ffn : {1, 37, 1000}) {
            const int32_t tokens = 5;
            auto gu = random_floats(rng, static_cast<size_t>(tokens * 2 * ffn), -4, 4);
            for (float& v : gu) v = round_to(t, v);
            device_array d_gu(encode(t, gu));
            device_array d_out(static_cast<size_t>(tokens * ffn) * dtype_block_bytes(t));
            REQUIRE(silu_and_mul(d_gu.get(), d_out.get(), t, tokens, ffn, nullptr).ok());
            auto y = decode(t, d_out.read<uint8_t>());
            std::vector<double> ref(y.size());
            for (int32_t tok = 0; tok < tokens; ++tok)
                for (int64_t j = 0; j < ffn; ++j) {
                    const double g = gu[tok * 2 * ffn + j], u = gu[tok * 2 * ffn + ffn + j];
                    ref[tok * ffn + j] = g / (1 + std::exp(-g)) * u;
                }
            CHECK(nmse(y, ref) < nmse_bound(t));

            auto bias = random_floats(rng, static_cast<size_t>(ffn));
            auto x = random_floats(rng, static_cast<size_t>(tokens * ffn));
            for (float& v : x) v = round_to(t, v);
            device_array d_x(encode(t, x)), d_b(bias);
            REQUIRE(add_bias(d_x.get(), t, d_b.as<float>(), tokens, ffn, nullptr).ok());
            auto xb = decode(t, d_x.read<uint8_t>());
            std::vector<double> ref_b(xb.size());
            for (size_t i = 0; i < ref_b.size(); ++i) ref_b[i] = double(x[i]) + bias[i % ffn];
            CHECK(nmse(xb, ref_b) < nmse_bound(t));
        }
}

TEST_CASE("gpu: write_kv_cache stores K/V at their slots and skips padding") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(6);
    for (dtype t : k_float_types) {
        const int32_t tokens = 9, qh = 4, kvh = 2, hd = 24, stride = (qh + 2 * kvh) * hd;
        const int32_t num_blocks = 5, block_size = 4, width = kvh * hd;
        const std::vector<int64_t> slots = {7, 0, 19, -1, 3, 12, 13, -1, 8};
        auto x = random_floats(rng, static_cast<size_t>(tokens) * stride);
        for (float& v : x) v = round_to(t, v);
        device_array d_x(encode(t, x)), d_slots(slots);
        const size_t cache_elems = static_cast<size_t>(num_blocks) * block_size * width;
        device_array d_k(cache_elems * dtype_block_bytes(t)),
            d_v(cache_elems * dtype_block_bytes(t));
        kv_write_args a;
        a.qkv = d_x.get();
        a.type = t;
        a.num_tokens = tokens;
        a.token_stride = stride;
        a.k_offset = qh * hd;
        a.v_offset = (qh + kvh) * hd;
        a.num_kv_heads = kvh;
        a.head_dim = hd;
        a.slot_mapping = d_slots.as<int64_t>();
        a.k_cache = d_k.get();
        a.v_cache = d_v.get();
        a.num_slots = num_blocks * block_size;
        REQUIRE(write_kv_cache(a, nullptr).ok());
        auto k = decode(t, d_k.read<uint8_t>()), v = decode(t, d_v.read<uint8_t>());
        std::vector<float> ek(cache_elems, 0.0f), ev(cache_elems, 0.0f);
        for (int32_t tok = 0; tok < tokens; ++tok) {
            if (slots[tok] < 0) continue;
            for (int32_t i = 0; i < width; ++i) {
                ek[slots[tok] * width + i] = x[static_cast<size_t>(tok) * stride + qh * hd + i];
                ev[slots[tok] * width + i] =
                    x[static_cast<size_t>(tok) * stride + (qh + kvh) * hd + i];
            }
        }
        CHECK(k == ek);
        CHECK(v == ev);
    }
}

TEST_CASE("gpu: gather_rows selects the asked-for rows in order") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(7);
    const int64_t cols = 129;
    auto src = random_floats(rng, static_cast<size_t>(10 * cols));
    const std::vector<int32_t> idx = {9, 0, 4, 4};
    device_array d_src(src), d_idx(idx), d_dst(idx.size() * cols * sizeof(float));
    REQUIRE(gather_rows(d_src.as<float>(), d_idx.as<int32_t>(), 4, cols, d_dst.as<float>(), nullptr)
                .ok());
    auto dst = d_dst.read<float>();
    for (size_t r = 0; r < idx.size(); ++r)
        for (int64_t c = 0; c < cols; ++c) REQUIRE(dst[r * cols + c] == src[idx[r] * cols + c]);
}

TEST_CASE("gpu: conversions round to nearest even like the host, fills are seeded") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(8);
    auto x = random_floats(rng, 1001, -100, 100);
    for (dtype src : k_float_types)
        for (dtype dst : k_float_types) {
            std::vector<float> in = x;
            for (float& v : in) v = round_to(src, v);
            device_array d_in(encode(src, in)), d_out(in.size() * dtype_block_bytes(dst));
            REQUIRE(convert_elements(d_in.get(), src, d_out.get(), dst, 1001, nullptr).ok());
            auto out = decode(dst, d_out.read<uint8_t>());
            for (size_t i = 0; i < in.size(); ++i) REQUIRE(out[i] == round_to(dst, in[i]));
        }
    device_array a(100000 * sizeof(float)), b(100000 * sizeof(float));
    REQUIRE(fill_uniform(a.get(), dtype::f32, 100000, 42, 0.5f, nullptr).ok());
    REQUIRE(fill_uniform(b.get(), dtype::f32, 100000, 42, 0.5f, nullptr).ok());
    auto va = a.read<float>(), vb = b.read<float>();
    CHECK(va == vb);
    double mean = 0;
    for (float v : va) {
        REQUIRE(v >= -0.5f);
        REQUIRE(v < 0.5f);
        mean += v;
    }
    CHECK(std::abs(mean / va.size()) < 0.01);
    REQUIRE(fill_uniform(b.get(), dtype::f32, 100000, 43, 0.5f, nullptr).ok());
    CHECK(b.read<float>() != va);
}

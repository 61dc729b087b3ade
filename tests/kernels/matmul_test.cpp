// matmul: every weight type at every cpu level against a double-precision
// product over the dequantized weights, on shapes that leave partial row tiles
// and odd token counts. Float types must agree to fp32 accumulation error;
// quantized types additionally within the 8-bit activation rounding bound.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "cpu/dequantize.hpp"
#include "cpu/matmul.hpp"
#include "cpu/weight_panels.hpp"
#include "kernels/level_guard.hpp"
#include "kernels/random_weights.hpp"

using namespace actorlm;

namespace {

struct reference {
    std::vector<double> y;          // exact product over dequantized weights
    std::vector<double> bound;      // allowed |error| per output
    std::vector<double> magnitude;  // sum of |x*w| per output: scale of rounding errors
};

// The activation quantizer rounds x to a multiple of d = amax(block)/127, so each
// x moves by at most amax/254; the weights multiply that error.
reference reference_product(const tensor& w, const std::vector<float>& x, int64_t tokens) {
    const int64_t rows = w.rows(), cols = w.cols();
    const bool quantized = dtype_block_elems(w.type) > 1;
    const size_t row_bytes = dtype_row_bytes(w.type, cols);
    std::vector<float> wf(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
        cpu::dequantize_row(w.type, static_cast<const uint8_t*>(w.data) + r * row_bytes,
                            wf.data() + r * cols, cols);
    reference ref;
    ref.y.resize(static_cast<size_t>(tokens * rows));
    ref.bound.resize(ref.y.size());
    ref.magnitude.resize(ref.y.size());
    for (int64_t t = 0; t < tokens; ++t) {
        const float* xt = x.data() + t * cols;
        for (int64_t r = 0; r < rows; ++r) {
            const float* wr = wf.data() + r * cols;
            double sum = 0, magnitude = 0, quant = 0;
            for (int64_t c = 0; c < cols; ++c) {
                sum += static_cast<double>(xt[c]) * wr[c];
                magnitude += std::fabs(static_cast<double>(xt[c]) * wr[c]);
            }
            if (quantized) {
                for (int64_t b = 0; b < cols / 32; ++b) {
                    double amax = 0, wsum = 0;
                    for (int64_t c = b * 32; c < b * 32 + 32; ++c) {
                        amax = std::fmax(amax, std::fabs(xt[c]));
                        wsum += std::fabs(wr[c]);
                    }
                    quant += amax / 254.0 * wsum;
                }
            }
            const size_t i = static_cast<size_t>(t * rows + r);
            ref.y[i] = sum;
            ref.bound[i] = 2e-5 * magnitude + 1.0001 * quant + 1e-30;
            ref.magnitude[i] = magnitude;
        }
    }
    return ref;
}

std::vector<float> run(const tensor& w, const std::vector<float>& x, int64_t tokens,
                       cpu::thread_pool& pool) {
    std::vector<float> y(static_cast<size_t>(tokens * w.rows()), NAN);
    cpu::matmul(w, x.data(), tokens, y.data(), pool);
    return y;
}

const dtype k_all_types[] = {dtype::f32,  dtype::f16,  dtype::bf16, dtype::q8_0,
                             dtype::q4_0, dtype::q5_0, dtype::q4_k, dtype::q6_k};

}  // namespace

TEST_CASE("matmul_every_type_and_level_matches_reference") {
    cpu::thread_pool pool(2);
    for (dtype type : k_all_types) {
        const bool k_quant = dtype_block_elems(type) == 256;
        // 96 = one and a half 64-wide steps; 192 and 256/768 are whole steps.
        for (int64_t cols :
             k_quant ? std::vector<int64_t>{256, 768} : std::vector<int64_t>{96, 192}) {
            const int64_t rows = 37;  // not a multiple of any row tile
            auto w = test::random_matrix(type, rows, cols, 11 + static_cast<uint32_t>(type));
            for (int64_t tokens : {1, 3, 17, 64}) {
                const auto x =
                    test::random_activations(tokens * cols, 5 + static_cast<uint32_t>(tokens));
                const reference ref = reference_product(w.view, x, tokens);
                std::vector<float> portable;
                for (auto level : test::supported_levels()) {
                    test::level_guard guard(level);
                    CAPTURE(dtype_name(type));
                    CAPTURE(tokens);
                    CAPTURE(cpu::cpu_level_name(level));
                    const auto y = run(w.view, x, tokens, pool);
                    for (size_t i = 0; i < y.size(); ++i) {
                        CAPTURE(i);
                        REQUIRE(std::fabs(y[i] - ref.y[i]) <= ref.bound[i]);
                    }
                    // Vector levels use the same quantized integers as portable: only
                    // the order of float additions differs.
                    if (level == cpu::cpu_level::portable) {
                        portable = y;
                    } else {
                        for (size_t i = 0; i < y.size(); ++i) {
                            CAPTURE(i);
                            REQUIRE(std::fabs(y[i] - portable[i]) <=
                                    2e-5 * ref.magnitude[i] + 1e-30);
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("matmul_float_types_with_columns_not_a_multiple_of_the_vector_width") {
    cpu::thread_pool pool(2);
    for (dtype type : {dtype::f32, dtype::f16, dtype::bf16}) {
        for (int64_t cols : {1, 7, 100}) {
            auto w = test::random_matrix(type, 9, cols, 4);
            const auto x = test::random_activations(5 * cols, 8);
            const reference ref = reference_product(w.view, x, 5);
            for (auto level : test::supported_levels()) {
                test::level_guard guard(level);
                CAPTURE(dtype_name(type));
                CAPTURE(cols);
                CAPTURE(cpu::cpu_level_name(level));
                const auto y = run(w.view, x, 5, pool);
                for (size_t i = 0; i < y.size(); ++i)
                    REQUIRE(std::fabs(y[i] - ref.y[i]) <= ref.bound[i]);
            }
        }
    }
}

TEST_CASE("matmul_threaded_equals_single_thread") {
    cpu::thread_pool one(1), three(3);
    for (dtype type : k_all_types) {
        const int64_t cols = dtype_block_elems(type) == 256 ? 256 : 128;
        auto w = test::random_matrix(type, 100, cols, 3);
        for (int64_t tokens : {1, 17}) {
            const auto x = test::random_activations(tokens * cols, 9);
            CAPTURE(dtype_name(type));
            CHECK(run(w.view, x, tokens, one) == run(w.view, x, tokens, three));
        }
    }
}

TEST_CASE("matmul_panels_equal_the_row_layout_at_every_level") {
    // The panel layouts multiply the same quantized integers as the row layout;
    // only the order of float additions differs. Rows leave a partial panel, and
    // the token counts cover every tile width (1-8) plus a remainder after tiles.
    cpu::thread_pool pool(2);
    struct shape {
        dtype type;
        int64_t cols;
        size_t panel_block_bytes;  // per 16 rows and one block of the type
    };
    const shape shapes[] = {
        {dtype::q8_0, 32, 544},   {dtype::q8_0, 96, 544},   {dtype::q8_0, 576, 544},
        {dtype::q4_0, 32, 288},   {dtype::q4_0, 96, 288},   {dtype::q4_0, 576, 288},
        {dtype::q5_0, 32, 352},   {dtype::q5_0, 96, 352},   {dtype::q5_0, 576, 352},
        {dtype::q4_k, 256, 2368}, {dtype::q4_k, 768, 2368}, {dtype::q6_k, 256, 3360},
        {dtype::q6_k, 768, 3360},
    };
    for (const shape& sh : shapes) {
        for (int64_t rows : {16, 37, 130}) {
            const int64_t cols = sh.cols;
            auto w =
                test::random_matrix(sh.type, rows, cols, 17 + static_cast<uint32_t>(rows + cols));
            std::vector<std::shared_ptr<void>> storage;
            const tensor packed = cpu::repack_to_panels(w.view, storage, pool);
            CHECK(packed.layout == weight_layout::panels);
            CHECK(packed.num_bytes ==
                  static_cast<size_t>((rows + 15) / 16 * (cols / dtype_block_elems(sh.type))) *
                      sh.panel_block_bytes);
            for (int64_t tokens : {1, 2, 3, 5, 8, 13, 32}) {
                const auto x =
                    test::random_activations(tokens * cols, 7 + static_cast<uint32_t>(tokens));
                const reference ref = reference_product(w.view, x, tokens);
                for (auto level : test::supported_levels()) {
                    test::level_guard guard(level);
                    CAPTURE(dtype_name(sh.type));
                    CAPTURE(rows);
                    CAPTURE(cols);
                    CAPTURE(tokens);
                    CAPTURE(cpu::cpu_level_name(level));
                    const auto rows_y = run(w.view, x, tokens, pool);
                    const auto panel_y = run(packed, x, tokens, pool);
                    for (size_t i = 0; i < panel_y.size(); ++i) {
                        CAPTURE(i);
                        REQUIRE(std::fabs(panel_y[i] - ref.y[i]) <= ref.bound[i]);
                        REQUIRE(std::fabs(panel_y[i] - rows_y[i]) <=
                                2e-5 * ref.magnitude[i] + 1e-30);
                    }
                }
            }
        }
    }
}

TEST_CASE("matmul_panels_only_for_quantized_types") {
    for (dtype t : {dtype::f32, dtype::f16, dtype::bf16}) {
        auto w = test::random_matrix(t, 16, 256, 1);
        CHECK_FALSE(cpu::prefers_panels(w.view));
    }
}

TEST_CASE("matmul_zero_tokens_writes_nothing") {
    cpu::thread_pool pool(2);
    auto w = test::random_matrix(dtype::q8_0, 4, 32, 1);
    float y = 42.0f;
    cpu::matmul(w.view, nullptr, 0, &y, pool);
    CHECK(y == 42.0f);
}

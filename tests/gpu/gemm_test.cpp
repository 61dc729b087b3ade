// cuBLAS linear layers: y = x · W^T (+ y) for f32 (exact, no TF32), f16 and bf16
// inputs with FP32 accumulation, to the input type or to FP32 (the fused residual add),
// through cuBLAS and through the small-batch gemv kernel; gemv's own operand checks.
#include <doctest/doctest.h>

#include "cuda/gemm.hpp"
#include "cuda/gemv.cuh"
#include "gpu_test_support.hpp"

using namespace actorlm;
using namespace actorlm::cuda;
using namespace actorlm::test;

TEST_CASE("gpu: cuBLAS linear matches the reference, with and without accumulation") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(31);
    cudaStream_t stream = nullptr;
    REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
    cublas_gemm gemm;
    REQUIRE(gemm.init(stream).ok());
    for (bool use_gemv : {true, false})  // rows <= 4 of f16/bf16 take the gemv kernel
        for (dtype t : k_float_types)
            for (int64_t rows : {1, 2, 3, 4, 7, 64})
                for (int64_t in : {8, 100, 4096, 4104})
                    for (int64_t out : {3, 257})
                        for (bool to_f32 : {false, true}) {
                            gemm.set_small_batch_gemv(use_gemv);
                            auto x = random_floats(rng, static_cast<size_t>(rows * in));
                            auto w = random_floats(rng, static_cast<size_t>(out * in));
                            auto y0 = random_floats(rng, static_cast<size_t>(rows * out));
                            for (auto* v : {&x, &w})
                                for (float& e : *v) e = round_to(t, e);
                            const dtype ot = to_f32 ? dtype::f32 : t;
                            const float beta = to_f32 ? 1.0f : 0.0f;
                            for (float& e : y0) e = round_to(ot, e);
                            device_array dx(encode(t, x)), dw(encode(t, w)), dy(encode(ot, y0));
                            REQUIRE(gemm.linear(dx.get(), dw.get(), t, rows, in, out, dy.get(), ot,
                                                beta)
                                        .ok());
                            REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
                            auto y = decode(ot, dy.read<uint8_t>());
                            std::vector<double> ref(y.size());
                            for (int64_t r = 0; r < rows; ++r)
                                for (int64_t o = 0; o < out; ++o) {
                                    double acc = beta * double(y0[r * out + o]);
                                    for (int64_t i = 0; i < in; ++i)
                                        acc += double(x[r * in + i]) * w[o * in + i];
                                    ref[r * out + o] = acc;
                                }
                            CHECK_MESSAGE(nmse(y, ref) < nmse_bound(ot == dtype::f32 ? t : ot),
                                          dtype_name(t)
                                              << " " << rows << "x" << in << "x" << out
                                              << " f32out=" << to_f32 << " gemv=" << use_gemv);
                        }
    cudaStreamDestroy(stream);
}

TEST_CASE("gpu: linear refuses mismatched element types") {
    cublas_gemm gemm;  // no handle needed to reject the arguments
    auto st = gemm.linear(nullptr, nullptr, dtype::bf16, 1, 1, 1, nullptr, dtype::f16, 0.0f);
    CHECK_FALSE(st.ok());
}

TEST_CASE("gpu: gemv takes only aligned 16-bit operands of <= 4 rows (host)") {
    alignas(16) static uint16_t buf[64];
    CHECK(gemv_supported(buf, buf, dtype::bf16, 1, 4096));
    CHECK(gemv_supported(buf, buf, dtype::f16, 4, 8));
    CHECK_FALSE(gemv_supported(buf, buf, dtype::f32, 1, 4096));
    CHECK_FALSE(gemv_supported(buf, buf, dtype::bf16, 5, 4096));
    CHECK_FALSE(gemv_supported(buf, buf, dtype::bf16, 1, 100));
    CHECK_FALSE(gemv_supported(buf + 1, buf, dtype::bf16, 1, 4096));
    CHECK_FALSE(gemv(buf + 1, buf, dtype::bf16, 1, 4096, 8, buf, dtype::bf16, 0.0f, nullptr).ok());
}

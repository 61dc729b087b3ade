// cuBLAS GEMM wrapper. Row-major y = x · w^T is column-major y^T = w^T(op T) · x^T,
// so W (row-major [out, in] = column-major [in, out]) is passed transposed.
#include "cuda/gemm.hpp"

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_libraries.hpp"
#include "cuda/gemv.cuh"

namespace actorlm::cuda {

namespace {

result<cudaDataType_t> cuda_type(dtype t) {
    switch (t) {
        case dtype::f32: return CUDA_R_32F;
        case dtype::f16: return CUDA_R_16F;
        case dtype::bf16: return CUDA_R_16BF;
        default: return make_error("GEMM: unsupported element type %s", dtype_name(t));
    }
}

}  // namespace

// cuBLAS' recommended workspace on Hopper.
constexpr size_t k_workspace_bytes = 32u << 20;

cublas_gemm::~cublas_gemm() {
    if (handle_) api_->destroy(handle_);
    if (workspace_) cudaFree(workspace_);
}

status cublas_gemm::init(cudaStream_t stream) {
    stream_ = stream;
    auto loaded = cublas();
    if (!loaded) return loaded.err();
    api_ = *loaded;
    ACTORLM_CUBLAS_CHECK(api_->create(&handle_));
    ACTORLM_CUBLAS_CHECK(api_->set_stream(handle_, stream));
    ACTORLM_CUDA_CHECK(cudaMalloc(&workspace_, k_workspace_bytes));
    ACTORLM_CUBLAS_CHECK(api_->set_workspace(handle_, workspace_, k_workspace_bytes));
    // Default math: FP32 GEMMs stay true FP32 (no TF32), the exact mode depends on it.
    ACTORLM_CUBLAS_CHECK(api_->set_math_mode(handle_, CUBLAS_DEFAULT_MATH));
    return {};
}

status cublas_gemm::linear(const void* x, const void* w, dtype in_type, int64_t rows, int64_t in,
                           int64_t out, void* y, dtype out_type, float beta) const {
    if (out_type != in_type && out_type != dtype::f32)
        return make_error("GEMM: output %s must be f32 or the input type %s", dtype_name(out_type),
                          dtype_name(in_type));
    auto at = cuda_type(in_type);
    if (!at.ok()) return at.err();
    auto ct = cuda_type(out_type);
    if (!ct.ok()) return ct.err();
    if (!handle_) return make_error("GEMM: cuBLAS handle not initialized");
    if (rows <= 0) return {};
    if (rows > INT32_MAX || in > INT32_MAX || out > INT32_MAX)
        return make_error("GEMM: dimension beyond 2^31 (%lld x %lld x %lld)",
                          static_cast<long long>(rows), static_cast<long long>(in),
                          static_cast<long long>(out));
    if (small_batch_gemv_ && gemv_supported(x, w, in_type, rows, in))
        return gemv(x, w, in_type, rows, in, out, y, out_type, beta, stream_);
    const float alpha = 1.0f;
    const int m = static_cast<int>(out), n = static_cast<int>(rows), k = static_cast<int>(in);
    const cublasComputeType_t compute =
        in_type == dtype::f32 ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_32F;
    ACTORLM_CUBLAS_CHECK(api_->gemm_ex(handle_, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w, *at,
                                       k, x, *at, k, &beta, y, *ct, m, compute,
                                       CUBLAS_GEMM_DEFAULT));
    return {};
}

}  // namespace actorlm::cuda

// cuBLAS GEMMs of the forward pass: y[rows, out] = x[rows, in] · W[out, in]^T with
// W row-major as in model_weights. BF16/FP16 inputs accumulate in FP32 (the output
// may be FP32, which fuses the residual add through beta); the exact FP32 mode
// uses pure FP32 compute (no TF32). Decode-sized 16-bit GEMMs (<= 4 rows) go to
// our gemv kernel. One handle per executor, used from one thread.
#pragma once

#include <cstdint>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "base/dtype.hpp"
#include "base/result.hpp"

namespace actorlm::cuda {

struct cublas_api;  // cuda_libraries.hpp

class cublas_gemm {
public:
    cublas_gemm() = default;
    ~cublas_gemm();
    cublas_gemm(const cublas_gemm&) = delete;
    cublas_gemm& operator=(const cublas_gemm&) = delete;

    /// Creates the handle on the current device, binds it to `stream` and gives it
    /// a fixed workspace (required for CUDA graph capture of the GEMMs).
    status init(cudaStream_t stream);

    /// y = x · w^T + beta * y. x: [rows, in] of `in_type`, w: [out, in] of `in_type`,
    /// y: [rows, out] of `out_type` (in_type or f32). beta is 0 or 1.
    status linear(const void* x, const void* w, dtype in_type, int64_t rows, int64_t in,
                  int64_t out, void* y, dtype out_type, float beta) const;

    /// Routes 16-bit GEMMs of at most k_gemv_max_rows rows to the bandwidth-bound
    /// gemv kernel (default) or always to cuBLAS (to compare the two).
    void set_small_batch_gemv(bool on) { small_batch_gemv_ = on; }

private:
    const cublas_api* api_ = nullptr;  // set by init()
    cublasHandle_t handle_ = nullptr;
    cudaStream_t stream_ = nullptr;
    bool small_batch_gemv_ = true;
    void* workspace_ = nullptr;  // explicit, so graph capture never makes cuBLAS allocate
};

}  // namespace actorlm::cuda

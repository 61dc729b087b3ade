// Error plumbing of the CUDA backend: ACTORLM_CUDA_CHECK / ACTORLM_CUBLAS_CHECK
// turn a failing runtime or cuBLAS call into an actorlm::status returned from the
// enclosing function (which must return status or result<T>). Never aborts, so a
// GPU worker can report the failure in its step result.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "base/result.hpp"
#include "cuda/cuda_libraries.hpp"

namespace actorlm::cuda {

/// Error value for a failed CUDA runtime call, naming the expression and location.
inline error cuda_error(cudaError_t e, const char* expr, const char* file, int line) {
    return make_error("CUDA error %s (%s) in %s at %s:%d", cudaGetErrorName(e),
                      cudaGetErrorString(e), expr, file, line);
}

/// Error value for a failed cuBLAS call (a status exists only where cuBLAS loaded).
inline error cublas_error(cublasStatus_t s, const char* expr, const char* file, int line) {
    return make_error("cuBLAS error %s (%d) in %s at %s:%d", (*cublas())->status_name(s),
                      static_cast<int>(s), expr, file, line);
}

}  // namespace actorlm::cuda

#define ACTORLM_CUDA_CHECK(expr)                                                              \
    do {                                                                                      \
        const cudaError_t actorlm_cuda_err_ = (expr);                                         \
        if (actorlm_cuda_err_ != cudaSuccess) [[unlikely]]                                    \
            return ::actorlm::cuda::cuda_error(actorlm_cuda_err_, #expr, __FILE__, __LINE__); \
    } while (0)

#define ACTORLM_CUBLAS_CHECK(expr)                                                               \
    do {                                                                                         \
        const cublasStatus_t actorlm_cublas_st_ = (expr);                                        \
        if (actorlm_cublas_st_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                            \
            return ::actorlm::cuda::cublas_error(actorlm_cublas_st_, #expr, __FILE__, __LINE__); \
    } while (0)

// cuBLAS and NCCL are opened on first use (dlopen), not linked. Linking them ran cuBLASLt's
// static initialisers in every process that has the CUDA backend: ~0.3 s of CPU before
// main() for each CLI command, server start and test process, GPU or not (perf: 44% of a
// `actorlm version` start was in libcublasLt). The CUDA runtime stays linked (it costs
// nothing at start-up). Thread-safe: each library is opened once, under a function-local
// static; the tables are immutable afterwards.
#pragma once

#include <cublas_v2.h>
#ifdef ACTORLM_WITH_NCCL
#include <nccl.h>
#endif

#include "base/result.hpp"

namespace actorlm::cuda {

/// The cuBLAS entry points the backend calls (the _v2 symbols cublas_v2.h maps names to).
struct cublas_api {
    decltype(&::cublasCreate_v2) create;
    decltype(&::cublasDestroy_v2) destroy;
    decltype(&::cublasSetStream_v2) set_stream;
    decltype(&::cublasSetWorkspace_v2) set_workspace;
    decltype(&::cublasSetMathMode) set_math_mode;
    // Spelled out: C++ callers see a second, inline cublasGemmEx taking a cudaDataType.
    cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                              const void*, const void*, cudaDataType, int, const void*,
                              cudaDataType, int, const void*, void*, cudaDataType, int,
                              cublasComputeType_t, cublasGemmAlgo_t);
    decltype(&::cublasGetStatusName) status_name;
};

/// cuBLAS, opened on the first call (libcublas.so.<major of the headers>, found where the
/// CUDA runtime was). The error names the library and dlerror()'s reason.
result<const cublas_api*> cublas();

/// The soname cublas() opens, e.g. "libcublas.so.13".
const char* cublas_library_name();

#ifdef ACTORLM_WITH_NCCL
/// The NCCL entry points of tensor parallelism.
struct nccl_api {
    decltype(&::ncclGetUniqueId) get_unique_id;
    decltype(&::ncclCommInitRank) comm_init_rank;
    decltype(&::ncclCommDestroy) comm_destroy;
    decltype(&::ncclAllReduce) all_reduce;
    decltype(&::ncclGetErrorString) error_string;
};

/// NCCL, opened on the first call (libnccl.so.<major>), as cublas().
result<const nccl_api*> nccl();
#endif

}  // namespace actorlm::cuda

// Device-side helpers shared by the kernels: float conversion of the three
// element types (float, __half, __nv_bfloat16), warp/block reductions and the
// dtype -> C++ type dispatch. Device code only; include from .cu files.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cfloat>
#include <cstdint>

#include "base/dtype.hpp"

namespace actorlm::cuda {

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
    return v;
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
    return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
    return __float2bfloat16_rn(v);
}

/// Threads per block of the element-wise kernels, and their grid: a grid-stride loop
/// covers any `n`, so the grid is capped (65536 blocks keep every SM busy).
inline constexpr int k_elementwise_threads = 256;
inline int elementwise_grid(int64_t n) {
    const int64_t blocks = (n + k_elementwise_threads - 1) / k_elementwise_threads;
    return static_cast<int>(blocks < 65536 ? (blocks < 1 ? 1 : blocks) : 65536);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/// Sum over the whole block; every thread gets the result. `scratch` holds 32 floats.
/// Must be reached by all threads of the block.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int num_warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous reduction
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < num_warps ? scratch[lane] : 0.0f;
    return warp_sum(v);
}

/// Max over the whole block; every thread gets the result. `scratch` holds 32 floats.
__device__ __forceinline__ float block_max(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int num_warps = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < num_warps ? scratch[lane] : -FLT_MAX;
    return warp_max(v);
}

}  // namespace actorlm::cuda

/// Calls `body` with `using scalar_t = float | __half | __nv_bfloat16` chosen by the
/// runtime dtype `t`; other dtypes return an error naming `what`.
#define ACTORLM_DISPATCH_FLOAT(t, what, ...)                                          \
    [&]() -> ::actorlm::status {                                                      \
        switch (t) {                                                                  \
            case ::actorlm::dtype::f32: {                                             \
                using scalar_t = float;                                               \
                __VA_ARGS__                                                           \
            } break;                                                                  \
            case ::actorlm::dtype::f16: {                                             \
                using scalar_t = __half;                                              \
                __VA_ARGS__                                                           \
            } break;                                                                  \
            case ::actorlm::dtype::bf16: {                                            \
                using scalar_t = __nv_bfloat16;                                       \
                __VA_ARGS__                                                           \
            } break;                                                                  \
            default:                                                                  \
                return ::actorlm::make_error("%s: unsupported element type %s", what, \
                                             ::actorlm::dtype_name(t));               \
        }                                                                             \
        return ::actorlm::status{};                                                   \
    }()

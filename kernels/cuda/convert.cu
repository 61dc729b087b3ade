// Conversion and fill kernels (grid-stride). The random fill hashes (seed, index)
// with splitmix64, so it needs no RNG state and any element is reproducible.
#include "cuda/convert.cuh"

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_types.cuh"

namespace actorlm::cuda {

namespace {

template <class S, class D>
__global__ void convert_kernel(const S* src, D* dst, int64_t n) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        dst[i] = from_float<D>(to_float(src[i]));
}

__device__ __forceinline__ uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

template <class T>
__global__ void fill_uniform_kernel(T* dst, int64_t n, uint64_t seed, float scale) {
    const uint64_t key = splitmix64(seed);
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const uint64_t h = splitmix64(key ^ static_cast<uint64_t>(i));
        const float u = static_cast<float>(h >> 40) * (1.0f / 16777216.0f);  // [0, 1)
        dst[i] = from_float<T>((2.0f * u - 1.0f) * scale);
    }
}

template <class T>
__global__ void fill_constant_kernel(T* dst, int64_t n, float value) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        dst[i] = from_float<T>(value);
}

template <class S>
status convert_from(const S* src, void* dst, dtype dst_type, int64_t n, cudaStream_t stream) {
    return ACTORLM_DISPATCH_FLOAT(dst_type, "convert_elements", {
        convert_kernel<S, scalar_t>
            <<<elementwise_grid(n), k_elementwise_threads, 0, stream>>>(src, static_cast<scalar_t*>(dst), n);
    });
}

}  // namespace

status convert_elements(const void* src, dtype src_type, void* dst, dtype dst_type, int64_t n,
                        cudaStream_t stream) {
    if (n <= 0) return {};
    status st = ACTORLM_DISPATCH_FLOAT(src_type, "convert_elements", {
        status inner = convert_from(static_cast<const scalar_t*>(src), dst, dst_type, n, stream);
        if (!inner.ok()) return inner;
    });
    if (!st.ok()) return st;
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

status fill_uniform(void* dst, dtype type, int64_t n, uint64_t seed, float scale,
                    cudaStream_t stream) {
    if (n <= 0) return {};
    status st = ACTORLM_DISPATCH_FLOAT(type, "fill_uniform", {
        fill_uniform_kernel<scalar_t>
            <<<elementwise_grid(n), k_elementwise_threads, 0, stream>>>(static_cast<scalar_t*>(dst), n, seed, scale);
    });
    if (!st.ok()) return st;
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

status fill_constant(void* dst, dtype type, int64_t n, float value, cudaStream_t stream) {
    if (n <= 0) return {};
    status st = ACTORLM_DISPATCH_FLOAT(type, "fill_constant", {
        fill_constant_kernel<scalar_t>
            <<<elementwise_grid(n), k_elementwise_threads, 0, stream>>>(static_cast<scalar_t*>(dst), n, value);
    });
    if (!st.ok()) return st;
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

}  // namespace actorlm::cuda

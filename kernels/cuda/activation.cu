// SiLU-and-multiply and bias kernels: grid-stride loops over the flattened
// matrix; purely element-wise, so any launch shape is correct.
#include "cuda/activation.cuh"

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_types.cuh"

namespace actorlm::cuda {

namespace {

template <class T>
__global__ void silu_and_mul_kernel(const T* gate_up, T* out, int64_t num_tokens, int64_t ffn) {
    const int64_t n = num_tokens * ffn;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t t = i / ffn, j = i % ffn;
        const float g = to_float(gate_up[t * 2 * ffn + j]);
        const float u = to_float(gate_up[t * 2 * ffn + ffn + j]);
        out[i] = from_float<T>(g / (1.0f + expf(-g)) * u);
    }
}

template <class T>
__global__ void add_bias_kernel(T* x, const float* bias, int64_t rows, int64_t cols) {
    const int64_t n = rows * cols;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        x[i] = from_float<T>(to_float(x[i]) + bias[i % cols]);
}

}  // namespace

status silu_and_mul(const void* gate_up, void* out, dtype type, int32_t num_tokens, int64_t ffn,
                    cudaStream_t stream) {
    if (num_tokens <= 0 || ffn <= 0) return {};
    status st = ACTORLM_DISPATCH_FLOAT(type, "silu_and_mul", {
        silu_and_mul_kernel<scalar_t><<<elementwise_grid(num_tokens * ffn), k_elementwise_threads, 0, stream>>>(
            static_cast<const scalar_t*>(gate_up), static_cast<scalar_t*>(out), num_tokens, ffn);
    });
    if (!st.ok()) return st;
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

status add_bias(void* x, dtype type, const float* bias, int32_t rows, int64_t cols,
                cudaStream_t stream) {
    if (rows <= 0 || cols <= 0) return {};
    status st = ACTORLM_DISPATCH_FLOAT(type, "add_bias", {
        add_bias_kernel<scalar_t><<<elementwise_grid(rows * cols), k_elementwise_threads, 0, stream>>>(
            static_cast<scalar_t*>(x), bias, rows, cols);
    });
    if (!st.ok()) return st;
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

}  // namespace actorlm::cuda

// RoPE kernel: one block per token, one thread per (head, rotation pair). The
// angle pos * inv_freq is formed in FP32 and sincosf is the accurate libdevice
// version (positions reach 1e5, where the fast intrinsics lose digits).
#include "cuda/rope.cuh"

#include <cmath>

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_types.cuh"

namespace actorlm::cuda {

std::vector<float> rope_inv_freq(int64_t head_dim, double theta, const rope_scaling& scaling) {
    std::vector<float> out;
    for (double f : rope_inverse_frequencies(head_dim, theta, scaling))
        out.push_back(static_cast<float>(f));
    return out;
}

namespace {

template <class T>
__global__ void rope_kernel(T* qkv, int64_t token_stride, int64_t k_offset, int32_t num_q_heads,
                            int32_t num_k_heads, int32_t head_dim, const int32_t* positions,
                            const float* inv_freq, bool neox) {
    const int64_t t = blockIdx.x;
    const int32_t half = head_dim / 2;
    const float pos = static_cast<float>(positions[t]);
    const int32_t total = (num_q_heads + num_k_heads) * half;
    T* base = qkv + t * token_stride;
    for (int32_t idx = threadIdx.x; idx < total; idx += blockDim.x) {
        const int32_t head = idx / half, i = idx % half;
        T* x = head < num_q_heads
                   ? base + static_cast<int64_t>(head) * head_dim
                   : base + k_offset + static_cast<int64_t>(head - num_q_heads) * head_dim;
        const int32_t i0 = neox ? i : 2 * i;
        const int32_t i1 = neox ? i + half : 2 * i + 1;
        float s, c;
        sincosf(pos * inv_freq[i], &s, &c);
        const float x0 = to_float(x[i0]), x1 = to_float(x[i1]);
        x[i0] = from_float<T>(x0 * c - x1 * s);
        x[i1] = from_float<T>(x0 * s + x1 * c);
    }
}

}  // namespace

status rope_inplace(const rope_args& a, cudaStream_t stream) {
    if (a.num_tokens <= 0) return {};
    if (a.head_dim <= 0 || a.head_dim % 2 != 0)
        return make_error("rope: head_dim %d must be positive and even", a.head_dim);
    const int32_t total = (a.num_q_heads + a.num_k_heads) * (a.head_dim / 2);
    int threads = (total + 31) / 32 * 32;
    threads = threads > 512 ? 512 : (threads < 32 ? 32 : threads);
    status st = ACTORLM_DISPATCH_FLOAT(a.type, "rope", {
        rope_kernel<scalar_t><<<a.num_tokens, threads, 0, stream>>>(
            static_cast<scalar_t*>(a.qkv), a.token_stride, a.k_offset, a.num_q_heads, a.num_k_heads,
            a.head_dim, a.positions, a.inv_freq, a.neox);
    });
    if (!st.ok()) return st;
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

}  // namespace actorlm::cuda

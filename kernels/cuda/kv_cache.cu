// KV-cache write kernel: one block per token, threads over kv_heads * head_dim.
// Slots outside [0, num_slots) are skipped (padding tokens use -1), so a bad
// slot can never write outside the cache.
#include "cuda/kv_cache.cuh"

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_types.cuh"

namespace actorlm::cuda {

namespace {

template <class T>
__global__ void write_kv_kernel(const T* qkv, int64_t token_stride, int64_t k_offset,
                                int64_t v_offset, int32_t width, const int64_t* slot_mapping,
                                T* k_cache, T* v_cache, int64_t num_slots) {
    const int64_t t = blockIdx.x;
    const int64_t slot = slot_mapping[t];
    if (slot < 0 || slot >= num_slots) return;
    const T* k = qkv + t * token_stride + k_offset;
    const T* v = qkv + t * token_stride + v_offset;
    T* kd = k_cache + slot * width;
    T* vd = v_cache + slot * width;
    for (int32_t i = threadIdx.x; i < width; i += blockDim.x) {
        kd[i] = k[i];
        vd[i] = v[i];
    }
}

}  // namespace

status write_kv_cache(const kv_write_args& a, cudaStream_t stream) {
    if (a.num_tokens <= 0) return {};
    const int32_t width = a.num_kv_heads * a.head_dim;
    int threads = (width + 31) / 32 * 32;
    threads = threads > 512 ? 512 : (threads < 32 ? 32 : threads);
    status st = ACTORLM_DISPATCH_FLOAT(a.type, "write_kv_cache", {
        write_kv_kernel<scalar_t><<<a.num_tokens, threads, 0, stream>>>(
            static_cast<const scalar_t*>(a.qkv), a.token_stride, a.k_offset, a.v_offset, width,
            a.slot_mapping, static_cast<scalar_t*>(a.k_cache), static_cast<scalar_t*>(a.v_cache),
            a.num_slots);
    });
    if (!st.ok()) return st;
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

}  // namespace actorlm::cuda

// Row gather kernels (embedding lookup, logits-row selection). One block per
// output row, threads stride over the columns; no shared state between blocks.
#include "cuda/gather.cuh"

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_types.cuh"

namespace actorlm::cuda {

namespace {

template <class T>
__global__ void embedding_gather_kernel(const int32_t* token_ids, const T* table, int64_t vocab,
                                        int64_t hidden, float* out) {
    const int64_t t = blockIdx.x;
    int64_t id = token_ids[t];
    id = id < 0 ? 0 : (id >= vocab ? vocab - 1 : id);
    const T* row = table + id * hidden;
    float* dst = out + t * hidden;
    for (int64_t c = threadIdx.x; c < hidden; c += blockDim.x) dst[c] = to_float(row[c]);
}

__global__ void gather_rows_kernel(const float* src, const int32_t* indices, int64_t cols,
                                   float* dst) {
    const int64_t r = blockIdx.x;
    const float* s = src + static_cast<int64_t>(indices[r]) * cols;
    float* d = dst + r * cols;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) d[c] = s[c];
}

}  // namespace

status embedding_gather(const int32_t* token_ids, int32_t num_tokens, const void* table,
                        dtype table_type, int64_t vocab, int64_t hidden, float* out,
                        cudaStream_t stream) {
    if (num_tokens <= 0) return {};
    status st = ACTORLM_DISPATCH_FLOAT(table_type, "embedding_gather", {
        embedding_gather_kernel<scalar_t><<<num_tokens, 256, 0, stream>>>(
            token_ids, static_cast<const scalar_t*>(table), vocab, hidden, out);
    });
    if (!st.ok()) return st;
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

status gather_rows(const float* src, const int32_t* indices, int32_t num_rows, int64_t cols,
                   float* dst, cudaStream_t stream) {
    if (num_rows <= 0) return {};
    gather_rows_kernel<<<num_rows, 256, 0, stream>>>(src, indices, cols, dst);
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

}  // namespace actorlm::cuda

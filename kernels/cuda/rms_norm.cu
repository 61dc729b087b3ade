// RMSNorm kernel: one block per row, block-wide FP32 sum of squares, then a
// second pass that scales. Rows are short (<= hidden size), so the row is read
// twice from L1/L2 instead of being staged in shared memory.
#include "cuda/rms_norm.cuh"

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_types.cuh"

namespace actorlm::cuda {

namespace {

template <class Tin, class Tout>
__global__ void rms_norm_kernel(const Tin* in, row_layout in_layout, Tout* out,
                                row_layout out_layout, const float* weight, int32_t cols,
                                float eps) {
    __shared__ float scratch[32];
    const int64_t r = blockIdx.x;
    const Tin* x = in + (r / in_layout.rows_per_group) * in_layout.group_stride +
                   (r % in_layout.rows_per_group) * cols;
    Tout* y = out + (r / out_layout.rows_per_group) * out_layout.group_stride +
              (r % out_layout.rows_per_group) * cols;
    float ss = 0.0f;
    for (int32_t c = threadIdx.x; c < cols; c += blockDim.x) {
        const float v = to_float(x[c]);
        ss += v * v;
    }
    ss = block_sum(ss, scratch);
    const float inv = rsqrtf(ss / static_cast<float>(cols) + eps);
    for (int32_t c = threadIdx.x; c < cols; c += blockDim.x)
        y[c] = from_float<Tout>(to_float(x[c]) * inv * weight[c]);
}

template <class Tin, class Tout>
void launch(const void* in, row_layout il, void* out, row_layout ol, const float* w, int32_t rows,
            int32_t cols, float eps, cudaStream_t stream) {
    int threads = ((cols + 3) / 4 + 31) / 32 * 32;
    threads = threads < 32 ? 32 : (threads > 1024 ? 1024 : threads);
    rms_norm_kernel<Tin, Tout><<<rows, threads, 0, stream>>>(
        static_cast<const Tin*>(in), il, static_cast<Tout*>(out), ol, w, cols, eps);
}

}  // namespace

status rms_norm(const void* in, dtype in_type, row_layout in_layout, void* out, dtype out_type,
                row_layout out_layout, const float* weight, int32_t rows, int32_t cols, float eps,
                cudaStream_t stream) {
    if (rows <= 0) return {};
    if (cols <= 0) return make_error("rms_norm: non-positive row length %d", cols);
    if (in_type != dtype::f32 && in_type != out_type)
        return make_error("rms_norm: input %s must be f32 or equal the output type %s",
                          dtype_name(in_type), dtype_name(out_type));
    if (in_type == dtype::f32) {
        status st = ACTORLM_DISPATCH_FLOAT(out_type, "rms_norm", {
            launch<float, scalar_t>(in, in_layout, out, out_layout, weight, rows, cols, eps,
                                    stream);
        });
        if (!st.ok()) return st;
    } else {
        status st = ACTORLM_DISPATCH_FLOAT(out_type, "rms_norm", {
            launch<scalar_t, scalar_t>(in, in_layout, out, out_layout, weight, rows, cols, eps,
                                       stream);
        });
        if (!st.ok()) return st;
    }
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

}  // namespace actorlm::cuda

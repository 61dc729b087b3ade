// GEMV kernel: 4 warps per block, one output feature per warp. Lane l reads the
// 16-byte vectors l, l+32, ... of the W row with streaming loads (W is read once
// per step; keep L1/L2 for x), and the matching x vectors of each row through the
// read-only cache. Warp-sum per row, lane 0 stores (adding y when beta = 1).
#include "cuda/gemv.cuh"

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_types.cuh"

namespace actorlm::cuda {

namespace {

constexpr int k_gemv_warps = 4;

__device__ __forceinline__ void unpack8(const uint4& v, const __nv_bfloat16*, float* f) {
    const __nv_bfloat162* p = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const float2 t = __bfloat1622float2(p[i]);
        f[2 * i] = t.x;
        f[2 * i + 1] = t.y;
    }
}

__device__ __forceinline__ void unpack8(const uint4& v, const __half*, float* f) {
    const __half2* p = reinterpret_cast<const __half2*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const float2 t = __half22float2(p[i]);
        f[2 * i] = t.x;
        f[2 * i + 1] = t.y;
    }
}

template <class T, int R, class Y>
__global__ void __launch_bounds__(k_gemv_warps * 32)
    gemv_kernel(const T* x, const T* w, int64_t in, int64_t out, Y* y, float beta) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t o = static_cast<int64_t>(blockIdx.x) * k_gemv_warps + warp;
    if (o >= out) return;  // the whole warp leaves together
    const int64_t num_vec = in / 8;
    const uint4* wrow = reinterpret_cast<const uint4*>(w + o * in);
    const uint4* xv = reinterpret_cast<const uint4*>(x);
    float acc[R];
#pragma unroll
    for (int r = 0; r < R; ++r) acc[r] = 0.0f;
#pragma unroll 4
    for (int64_t v = lane; v < num_vec; v += 32) {
        float wf[8];
        unpack8(__ldcs(wrow + v), static_cast<const T*>(nullptr), wf);
#pragma unroll
        for (int r = 0; r < R; ++r) {
            float xf[8];
            unpack8(__ldg(xv + r * num_vec + v), static_cast<const T*>(nullptr), xf);
#pragma unroll
            for (int i = 0; i < 8; ++i) acc[r] = fmaf(wf[i], xf[i], acc[r]);
        }
    }
#pragma unroll
    for (int r = 0; r < R; ++r) acc[r] = warp_sum(acc[r]);
    if (lane == 0) {
#pragma unroll
        for (int r = 0; r < R; ++r) {
            Y* dst = y + r * out + o;
            const float old = beta != 0.0f ? to_float(*dst) * beta : 0.0f;
            *dst = from_float<Y>(acc[r] + old);
        }
    }
}

template <class T, class Y>
void launch_rows(const void* x, const void* w, int64_t rows, int64_t in, int64_t out, void* y,
                 float beta, cudaStream_t stream) {
    const unsigned blocks = static_cast<unsigned>((out + k_gemv_warps - 1) / k_gemv_warps);
    const T* xt = static_cast<const T*>(x);
    const T* wt = static_cast<const T*>(w);
    Y* yt = static_cast<Y*>(y);
    switch (rows) {
        case 1:
            gemv_kernel<T, 1, Y><<<blocks, k_gemv_warps * 32, 0, stream>>>(xt, wt, in, out, yt, beta);
            break;
        case 2:
            gemv_kernel<T, 2, Y><<<blocks, k_gemv_warps * 32, 0, stream>>>(xt, wt, in, out, yt, beta);
            break;
        case 3:
            gemv_kernel<T, 3, Y><<<blocks, k_gemv_warps * 32, 0, stream>>>(xt, wt, in, out, yt, beta);
            break;
        default:
            gemv_kernel<T, 4, Y><<<blocks, k_gemv_warps * 32, 0, stream>>>(xt, wt, in, out, yt, beta);
            break;
    }
}

}  // namespace

bool gemv_supported(const void* x, const void* w, dtype in_type, int64_t rows, int64_t in) {
    return (in_type == dtype::bf16 || in_type == dtype::f16) && rows >= 1 &&
           rows <= k_gemv_max_rows && in > 0 && in % 8 == 0 &&
           reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0;
}

status gemv(const void* x, const void* w, dtype in_type, int64_t rows, int64_t in, int64_t out,
            void* y, dtype out_type, float beta, cudaStream_t stream) {
    if (!gemv_supported(x, w, in_type, rows, in))
        return make_error("gemv: unsupported operands (%s, %lld rows, in %lld)",
                          dtype_name(in_type), static_cast<long long>(rows),
                          static_cast<long long>(in));
    if (out_type != in_type && out_type != dtype::f32)
        return make_error("gemv: output %s must be f32 or %s", dtype_name(out_type),
                          dtype_name(in_type));
    if (out <= 0) return {};
    if (in_type == dtype::bf16) {
        if (out_type == dtype::f32)
            launch_rows<__nv_bfloat16, float>(x, w, rows, in, out, y, beta, stream);
        else
            launch_rows<__nv_bfloat16, __nv_bfloat16>(x, w, rows, in, out, y, beta, stream);
    } else {
        if (out_type == dtype::f32)
            launch_rows<__half, float>(x, w, rows, in, out, y, beta, stream);
        else
            launch_rows<__half, __half>(x, w, rows, in, out, y, beta, stream);
    }
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

}  // namespace actorlm::cuda

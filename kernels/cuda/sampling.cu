// Sampling kernel: one 1024-thread block per logits row. Top-k, top-p and min-p
// are all thresholds on the logit, so the kept set is {key(x) >= floor}; the
// top-k / top-p floors are found exactly by a 4-pass 8-bit radix select over the
// order-preserving key of the logits, weighted by count or by probability mass.
// Mass is fixed point (e * 2^26, e = exp((x - max) / T) <= 1) so every sum is an
// integer and a seed reproduces its token bit for bit, whatever the atomic order.
#include "cuda/sampling.cuh"

#include <cfloat>
#include <cmath>

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_types.cuh"
#include "cuda/philox.hpp"

namespace actorlm::cuda {

namespace {

constexpr int k_sampling_threads = 1024;
constexpr float k_mass_scale = 67108864.0f;  // 2^26: a warp's sum of 32 fits in 32 bits

__device__ __forceinline__ uint32_t order_key(float x) {
    const uint32_t b = __float_as_uint(x);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

struct row_state {
    float max_logit;
    float inv_temperature;
    float min_p;
    uint32_t floor_key;  // keep keys >= floor_key
};

// Weight of logit x in the kept set: 0 when filtered, else 1 (count) or its mass.
__device__ __forceinline__ uint32_t weight_of(float x, const row_state& s, bool by_mass) {
    if (order_key(x) < s.floor_key) return 0;
    const float e = expf((x - s.max_logit) * s.inv_temperature);
    if (s.min_p > 0.0f && e < s.min_p) return 0;
    if (!by_mass) return 1;
    return static_cast<uint32_t>(e * k_mass_scale);
}

__device__ __forceinline__ unsigned long long warp_sum_u64(unsigned long long v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ unsigned long long block_sum_u64(unsigned long long v, unsigned long long* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum_u64(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < (k_sampling_threads >> 5) ? scratch[lane] : 0ull;
    return warp_sum_u64(v);
}

// Exclusive prefix sum over the block (threads in index order); *total gets the sum.
__device__ unsigned long long block_exclusive_scan_u64(unsigned long long v,
                                                       unsigned long long* scratch,
                                                       unsigned long long* total) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    unsigned long long inc = v;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const unsigned long long n = __shfl_up_sync(0xffffffffu, inc, o);
        if (lane >= o) inc += n;
    }
    __syncthreads();
    if (lane == 31) scratch[warp] = inc;
    __syncthreads();
    if (warp == 0) {
        unsigned long long w = lane < (k_sampling_threads >> 5) ? scratch[lane] : 0ull;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const unsigned long long n = __shfl_up_sync(0xffffffffu, w, o);
            if (lane >= o) w += n;
        }
        scratch[lane] = w;  // inclusive scan of warp totals
    }
    __syncthreads();
    const unsigned long long warp_prefix = warp > 0 ? scratch[warp - 1] : 0ull;
    *total = scratch[(k_sampling_threads >> 5) - 1];
    return warp_prefix + inc - v;
}

// Largest key K with weight(kept and key >= K) >= target (target <= kept total).
__device__ uint32_t radix_threshold(const float* row, int vocab, const row_state& s, bool by_mass,
                                    unsigned long long target, unsigned long long* hist,
                                    uint32_t* sh_prefix, unsigned long long* sh_above) {
    const int lane = threadIdx.x & 31;
    if (threadIdx.x == 0) {
        *sh_prefix = 0;
        *sh_above = 0;
    }
    uint32_t mask = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < 256; b += k_sampling_threads) hist[b] = 0;
        __syncthreads();
        const uint32_t prefix = *sh_prefix;
        for (int base = 0; base < vocab; base += k_sampling_threads) {
            const int i = base + static_cast<int>(threadIdx.x);
            uint32_t w = 0, digit = 256;
            if (i < vocab) {
                const float x = row[i];
                const uint32_t key = order_key(x);
                if ((key & mask) == prefix) {
                    w = weight_of(x, s, by_mass);
                    if (w > 0) digit = (key >> shift) & 255u;
                }
            }
            // Lanes with equal digits add once per warp: the top bins see most of
            // the vocabulary, and per-lane atomics on one address would serialize.
            const unsigned peers = __match_any_sync(0xffffffffu, digit);
            const uint32_t sum = __reduce_add_sync(peers, w);
            if (digit < 256 && lane == __ffs(peers) - 1)
                atomicAdd(&hist[digit], static_cast<unsigned long long>(sum));
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            unsigned long long cum = *sh_above;
            int chosen = 0;
            for (int b = 255; b >= 0; --b) {
                if (cum + hist[b] >= target) {
                    chosen = b;
                    break;
                }
                cum += hist[b];
            }
            *sh_above = cum;
            *sh_prefix = prefix | (static_cast<uint32_t>(chosen) << shift);
        }
        mask |= 255u << shift;
        __syncthreads();
    }
    return *sh_prefix;
}

__device__ void argmax_row(const float* row, int vocab, int32_t* out, float* fscratch,
                           int* iscratch) {
    float best = -INFINITY;
    int best_i = vocab;  // larger than any index: loses every tie
    for (int i = threadIdx.x; i < vocab; i += k_sampling_threads) {
        const float x = row[i];
        if (x > best || (x == best && i < best_i)) {
            best = x;
            best_i = i;
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, best, o);
        const int oi = __shfl_xor_sync(0xffffffffu, best_i, o);
        if (ov > best || (ov == best && oi < best_i)) {
            best = ov;
            best_i = oi;
        }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        fscratch[warp] = best;
        iscratch[warp] = best_i;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (k_sampling_threads >> 5); ++w)
            if (fscratch[w] > best || (fscratch[w] == best && iscratch[w] < best_i)) {
                best = fscratch[w];
                best_i = iscratch[w];
            }
        *out = best_i < vocab ? best_i : 0;  // all-NaN rows fall back to id 0
    }
}

__global__ void __launch_bounds__(k_sampling_threads)
    sample_kernel(const float* logits, int vocab, const gpu_sampling_params* params,
                  int32_t* out_ids) {
    __shared__ unsigned long long hist[256];
    __shared__ unsigned long long uscratch[32];
    __shared__ float fscratch[32];
    __shared__ int iscratch[32];
    __shared__ uint32_t sh_prefix;
    __shared__ unsigned long long sh_above;
    __shared__ int sh_pick;

    const float* row = logits + static_cast<int64_t>(blockIdx.x) * vocab;
    const gpu_sampling_params p = params[blockIdx.x];
    if (p.temperature <= 0.0f || p.top_k == 1) {
        argmax_row(row, vocab, out_ids + blockIdx.x, fscratch, iscratch);
        return;
    }
    float local_max = -FLT_MAX;
    for (int i = threadIdx.x; i < vocab; i += k_sampling_threads) local_max = fmaxf(local_max, row[i]);
    row_state s{block_max(local_max, fscratch), 1.0f / p.temperature, p.min_p, 0u};

    if (p.top_k > 0 && p.top_k < vocab)
        s.floor_key =
            radix_threshold(row, vocab, s, false, static_cast<unsigned long long>(p.top_k), hist,
                            &sh_prefix, &sh_above);
    if (p.top_p < 1.0f) {
        unsigned long long kept = 0;
        for (int i = threadIdx.x; i < vocab; i += k_sampling_threads) kept += weight_of(row[i], s, true);
        kept = block_sum_u64(kept, uscratch);
        unsigned long long target =
            static_cast<unsigned long long>(ceil(static_cast<double>(p.top_p) * kept));
        target = target < 1 ? 1 : (target > kept ? kept : target);
        s.floor_key = radix_threshold(row, vocab, s, true, target, hist, &sh_prefix, &sh_above);
    }

    // Inverse CDF in id order: thread t owns ids [t * chunk, (t + 1) * chunk).
    const int chunk = (vocab + k_sampling_threads - 1) / k_sampling_threads;
    const int begin = static_cast<int>(threadIdx.x) * chunk;
    const int end = min(vocab, begin + chunk);
    unsigned long long mine = 0;
    for (int i = begin; i < end; ++i) mine += weight_of(row[i], s, true);
    unsigned long long total = 0;
    const unsigned long long before = block_exclusive_scan_u64(mine, uscratch, &total);
    if (threadIdx.x == 0) sh_pick = -1;
    __syncthreads();
    if (total > 0) {
        const unsigned long long r = philox_u64(p.seed, p.step) % total;
        if (r >= before && r < before + mine) {
            unsigned long long acc = before;
            for (int i = begin; i < end; ++i) {
                acc += weight_of(row[i], s, true);
                if (r < acc) {
                    sh_pick = i;
                    break;
                }
            }
        }
    }
    __syncthreads();
    if (sh_pick >= 0) {
        if (threadIdx.x == 0) out_ids[blockIdx.x] = sh_pick;
        return;
    }
    argmax_row(row, vocab, out_ids + blockIdx.x, fscratch, iscratch);  // no mass: degenerate row
}

}  // namespace

status validate_sampling_params(const gpu_sampling_params* params, int32_t num_rows) {
    for (int32_t r = 0; r < num_rows; ++r) {
        const gpu_sampling_params& p = params[r];
        if (!std::isfinite(p.temperature))
            return make_error("sampling row %d: temperature %g is not finite", r, p.temperature);
        if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
            return make_error("sampling row %d: top_p %g outside (0, 1]", r, p.top_p);
        if (!(p.min_p >= 0.0f && p.min_p < 1.0f))
            return make_error("sampling row %d: min_p %g outside [0, 1)", r, p.min_p);
    }
    return {};
}

status sample_tokens(const float* logits, int32_t num_rows, int32_t vocab,
                     const gpu_sampling_params* params, int32_t* out_ids, cudaStream_t stream) {
    if (num_rows <= 0) return {};
    if (vocab <= 0) return make_error("sample_tokens: vocab size %d must be positive", vocab);
    sample_kernel<<<num_rows, k_sampling_threads, 0, stream>>>(logits, vocab, params, out_ids);
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    return {};
}

}  // namespace actorlm::cuda

// Paged attention kernel. Block = (work item, KV head, key split), 4 warps.
// A sliding window masks each row's keys below position + 1 - window, and the
// item's tiles start at the first tile any of its rows reads.
// Shared memory holds the item's 16 query rows (pre-scaled, FP32) and one tile of
// 32 keys and values converted to FP32. Warp w owns query rows w, w+4, w+8, w+12
// (strided, so a decode item's few rows still spread over all warps): for the
// scores lane j takes key j of the tile; for the output lane d takes dims
// d, d+32, ... so P·V needs only shuffles of p. Invariant: every (token, head)
// of the batch is written exactly once (directly or through the combine kernel).
#include "cuda/paged_attention.cuh"

#include <cmath>

#include "cuda/cuda_check.hpp"
#include "cuda/cuda_types.cuh"

namespace actorlm::cuda {

namespace {

constexpr int k_attention_threads = 128;
constexpr int k_attention_warps = k_attention_threads / 32;
constexpr int k_rows_per_warp = k_attention_item_rows / k_attention_warps;
constexpr int k_dims_per_lane = k_attention_max_head_dim / 32;

size_t smem_bytes(int hd) {
    return sizeof(float) * (static_cast<size_t>(k_attention_item_rows) * hd +
                            static_cast<size_t>(k_attention_tile_keys) * (hd + 1) +
                            static_cast<size_t>(k_attention_tile_keys) * hd);
}

// Converts the tile's 32 keys and values (slots looked up through the block
// table; keys outside [key_begin, num_keys) read as 0) to FP32 in shared memory, 8 elements per
// 16-byte load. Needs a 16-bit cache and head_dim % 8 == 0 (then every head row
// starts 16-byte aligned).
template <class T>
__device__ __forceinline__ void load_kv_tile_vec8(const T* kc, const T* vc, float* k_s, float* v_s,
                                                  const int32_t* table, int key0, int key_begin,
                                                  int num_keys, int block_size, int64_t slot_stride,
                                                  int64_t head_off, int hd) {
    static_assert(sizeof(T) == 2, "8 elements per 16-byte load");
    const int chunks = hd / 8;
    for (int idx = threadIdx.x; idx < k_attention_tile_keys * chunks; idx += k_attention_threads) {
        const int j = idx / chunks, d0 = (idx % chunks) * 8, key = key0 + j;
        float kf[8], vf[8];
        if (key >= key_begin && key < num_keys) {
            const int64_t block = table[key / block_size];
            const int64_t off =
                (block * block_size + key % block_size) * slot_stride + head_off + d0;
            const uint4 kraw = *reinterpret_cast<const uint4*>(kc + off);
            const uint4 vraw = *reinterpret_cast<const uint4*>(vc + off);
            const T* kp = reinterpret_cast<const T*>(&kraw);
            const T* vp = reinterpret_cast<const T*>(&vraw);
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                kf[i] = to_float(kp[i]);
                vf[i] = to_float(vp[i]);
            }
        } else {
#pragma unroll
            for (int i = 0; i < 8; ++i) kf[i] = vf[i] = 0.0f;
        }
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            k_s[j * (hd + 1) + d0 + i] = kf[i];
            v_s[j * hd + d0 + i] = vf[i];
        }
    }
}

// Same, one element per load: FP32 caches and head dims that are not a multiple of 8.
template <class T>
__device__ __forceinline__ void load_kv_tile(const T* kc, const T* vc, float* k_s, float* v_s,
                                             const int32_t* table, int key0, int key_begin,
                                             int num_keys, int block_size, int64_t slot_stride,
                                             int64_t head_off, int hd) {
    if constexpr (sizeof(T) == 2) {
        if (hd % 8 == 0) {
            load_kv_tile_vec8(kc, vc, k_s, v_s, table, key0, key_begin, num_keys, block_size,
                              slot_stride, head_off, hd);
            return;
        }
    }
    for (int idx = threadIdx.x; idx < k_attention_tile_keys * hd; idx += k_attention_threads) {
        const int j = idx / hd, d = idx % hd, key = key0 + j;
        float kv = 0.0f, vv = 0.0f;
        if (key >= key_begin && key < num_keys) {
            const int64_t block = table[key / block_size];
            const int64_t off =
                (block * block_size + key % block_size) * slot_stride + head_off + d;
            kv = to_float(kc[off]);
            vv = to_float(vc[off]);
        }
        k_s[j * (hd + 1) + d] = kv;
        v_s[j * hd + d] = vv;
    }
}

template <class T>
__global__ void __launch_bounds__(k_attention_threads) paged_attention_kernel(paged_attention_args a) {
    extern __shared__ float smem[];
    __shared__ int32_t limit_s[k_attention_item_rows];  // row r attends keys [first_s, limit_s)
    __shared__ int32_t first_s[k_attention_item_rows];
    const int hd = a.head_dim;
    float* q_s = smem;
    float* k_s = q_s + k_attention_item_rows * hd;
    float* v_s = k_s + k_attention_tile_keys * (hd + 1);

    const attention_work_item item = a.items[blockIdx.x];
    const int kvh = blockIdx.y, split = blockIdx.z;
    const int group = a.num_heads / a.num_kv_heads;
    const int rows = item.num_tokens * group;
    const T* q = static_cast<const T*>(a.q);
    const T* kc = static_cast<const T*>(a.k_cache);
    const T* vc = static_cast<const T*>(a.v_cache);

    for (int idx = threadIdx.x; idx < k_attention_item_rows * hd; idx += k_attention_threads) {
        const int r = idx / hd, d = idx % hd;
        float v = 0.0f;
        if (r < rows) {
            const int64_t t = item.first_token + r / group;
            const int64_t h = static_cast<int64_t>(kvh) * group + r % group;
            v = to_float(q[t * a.q_token_stride + h * hd + d]) * a.scale;
        }
        q_s[idx] = v;
    }
    if (threadIdx.x < k_attention_item_rows) {
        const int limit =
            threadIdx.x < rows ? a.positions[item.first_token + threadIdx.x / group] + 1 : 0;
        limit_s[threadIdx.x] = limit;
        first_s[threadIdx.x] = a.sliding_window > 0 ? max(0, limit - a.sliding_window) : 0;
    }
    // Under a sliding window no row of the item reads a key before the smallest window start,
    // so the tiles (and the key splits) begin there. Every thread computes it (<= 16 reads).
    int key_begin = 0;
    if (a.sliding_window > 0) {
        key_begin = item.num_keys;
        for (int i = 0; i < item.num_tokens; ++i)
            key_begin =
                min(key_begin, max(0, a.positions[item.first_token + i] + 1 - a.sliding_window));
    }

    const int first_tile = key_begin / k_attention_tile_keys;
    const int num_tiles = (item.num_keys + k_attention_tile_keys - 1) / k_attention_tile_keys;
    const int tiles_per_split = (num_tiles - first_tile + a.num_splits - 1) / a.num_splits;
    const int tile_begin = first_tile + split * tiles_per_split;
    const int tile_end = min(num_tiles, tile_begin + tiles_per_split);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int32_t* table = a.block_tables + static_cast<int64_t>(item.seq) * a.max_blocks_per_seq;
    const int64_t slot_stride = static_cast<int64_t>(a.num_kv_heads) * hd;

    float m[k_rows_per_warp], l[k_rows_per_warp], acc[k_rows_per_warp][k_dims_per_lane];
#pragma unroll
    for (int rr = 0; rr < k_rows_per_warp; ++rr) {
        m[rr] = -INFINITY;
        l[rr] = 0.0f;
#pragma unroll
        for (int j = 0; j < k_dims_per_lane; ++j) acc[rr][j] = 0.0f;
    }

    for (int tile = tile_begin; tile < tile_end; ++tile) {
        const int key0 = tile * k_attention_tile_keys;
        __syncthreads();  // the previous tile is consumed; q_s/limit_s are visible
        load_kv_tile(kc, vc, k_s, v_s, table, key0, key_begin, item.num_keys, a.block_size,
                     slot_stride, static_cast<int64_t>(kvh) * hd, hd);
        __syncthreads();
#pragma unroll
        for (int rr = 0; rr < k_rows_per_warp; ++rr) {
            const int r = rr * k_attention_warps + warp;
            if (r >= rows) continue;  // warp-uniform
            const int limit = limit_s[r], first = first_s[r];
            if (key0 >= limit) continue;  // causal: this whole tile is in the row's future
            // Wholly before the row's window. Otherwise the tile holds >= 1 key the row
            // attends (first < limit), so new_m below stays finite.
            if (key0 + k_attention_tile_keys <= first) continue;
            const float* qr = q_s + r * hd;
            const float* kr = k_s + lane * (hd + 1);
            float s = 0.0f;
            for (int d = 0; d < hd; ++d) s += qr[d] * kr[d];
            const bool valid = key0 + lane < limit && key0 + lane >= first;
            s = valid ? s : -INFINITY;
            const float new_m = fmaxf(m[rr], warp_max(s));
            const float p = valid ? expf(s - new_m) : 0.0f;
            const float corr = expf(m[rr] - new_m);  // 0 on the first tile (m = -inf)
            l[rr] = l[rr] * corr + warp_sum(p);
            const int nk = min(k_attention_tile_keys, limit - key0);
#pragma unroll
            for (int j = 0; j < k_dims_per_lane; ++j) acc[rr][j] *= corr;
            for (int kk = 0; kk < nk; ++kk) {
                const float pk = __shfl_sync(0xffffffffu, p, kk);
                const float* vr = v_s + kk * hd;
#pragma unroll
                for (int j = 0; j < k_dims_per_lane; ++j) {
                    const int d = lane + 32 * j;
                    if (d < hd) acc[rr][j] += pk * vr[d];
                }
            }
            m[rr] = new_m;
        }
    }

#pragma unroll
    for (int rr = 0; rr < k_rows_per_warp; ++rr) {
        const int r = rr * k_attention_warps + warp;
        if (r >= rows) continue;
        const int64_t t = item.first_token + r / group;
        const int64_t h = static_cast<int64_t>(kvh) * group + r % group;
        if (a.num_splits == 1) {
            T* o = static_cast<T*>(a.out) + t * a.out_token_stride + h * hd;
            const float inv = l[rr] > 0.0f ? 1.0f / l[rr] : 0.0f;
#pragma unroll
            for (int j = 0; j < k_dims_per_lane; ++j) {
                const int d = lane + 32 * j;
                if (d < hd) o[d] = from_float<T>(acc[rr][j] * inv);
            }
        } else {
            float* ws =
                a.split_workspace + ((t * a.num_heads + h) * a.num_splits + split) * (hd + 2);
            if (lane == 0) {
                ws[0] = m[rr];
                ws[1] = l[rr];
            }
#pragma unroll
            for (int j = 0; j < k_dims_per_lane; ++j) {
                const int d = lane + 32 * j;
                if (d < hd) ws[2 + d] = acc[rr][j];
            }
        }
    }
}

// Merges the per-split (max, sum, unnormalized output) triples of one (token, head).
template <class T>
__global__ void combine_splits_kernel(const float* ws, T* out, int64_t out_token_stride,
                                      int num_heads, int num_splits, int hd) {
    const int64_t t = blockIdx.x, h = blockIdx.y;
    const float* base = ws + (t * num_heads + h) * num_splits * (hd + 2);
    float gmax = -INFINITY;
    for (int s = 0; s < num_splits; ++s) gmax = fmaxf(gmax, base[s * (hd + 2)]);
    float total = 0.0f;
    for (int s = 0; s < num_splits; ++s) {
        const float ms = base[s * (hd + 2)];
        if (ms > -INFINITY) total += base[s * (hd + 2) + 1] * expf(ms - gmax);
    }
    const float inv = total > 0.0f ? 1.0f / total : 0.0f;
    T* o = out + t * out_token_stride + h * hd;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float v = 0.0f;
        for (int s = 0; s < num_splits; ++s) {
            const float ms = base[s * (hd + 2)];
            if (ms > -INFINITY) v += base[s * (hd + 2) + 2 + d] * expf(ms - gmax);
        }
        o[d] = from_float<T>(v * inv);
    }
}

template <class T>
status launch(const paged_attention_args& a, cudaStream_t stream) {
    const size_t bytes = smem_bytes(a.head_dim);
    if (bytes > 48 * 1024)
        ACTORLM_CUDA_CHECK(cudaFuncSetAttribute(paged_attention_kernel<T>,
                                                cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                static_cast<int>(bytes)));
    const dim3 grid(static_cast<unsigned>(a.num_items), static_cast<unsigned>(a.num_kv_heads),
                    static_cast<unsigned>(a.num_splits));
    paged_attention_kernel<T><<<grid, k_attention_threads, bytes, stream>>>(a);
    ACTORLM_CUDA_CHECK(cudaGetLastError());
    if (a.num_splits > 1) {
        const dim3 cgrid(static_cast<unsigned>(a.num_tokens), static_cast<unsigned>(a.num_heads));
        const int threads = a.head_dim >= 128 ? 128 : 32;
        combine_splits_kernel<T><<<cgrid, threads, 0, stream>>>(
            a.split_workspace, static_cast<T*>(a.out), a.out_token_stride, a.num_heads,
            a.num_splits, a.head_dim);
        ACTORLM_CUDA_CHECK(cudaGetLastError());
    }
    return {};
}

}  // namespace

status paged_attention(const paged_attention_args& a, cudaStream_t stream) {
    if (a.num_items <= 0 || a.num_tokens <= 0) return {};
    if (a.head_dim <= 0 || a.head_dim > k_attention_max_head_dim)
        return make_error("paged_attention: head_dim %d outside [1, %d]", a.head_dim,
                          k_attention_max_head_dim);
    if (attention_tokens_per_item(a.num_heads, a.num_kv_heads) == 0)
        return make_error(
            "paged_attention: %d heads over %d KV heads is not a GQA group of at "
            "most %d",
            a.num_heads, a.num_kv_heads, k_attention_item_rows);
    if (a.block_size <= 0) return make_error("paged_attention: block_size must be positive");
    if (a.num_splits < 1 || (a.num_splits > 1 && a.split_workspace == nullptr))
        return make_error("paged_attention: %d splits without a workspace", a.num_splits);
    status st = ACTORLM_DISPATCH_FLOAT(a.type, "paged_attention", {
        status inner = launch<scalar_t>(a, stream);
        if (!inner.ok()) return inner;
    });
    return st;
}

}  // namespace actorlm::cuda

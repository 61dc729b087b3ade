// matmul_avx512 (float weights): f32/f16/bf16 rows times fp32 activations in
// register tiles of 4 rows x T tokens, so each weight vector loaded (and
// converted) once serves T tokens. Rows are walked in blocks that stay in L2
// while every token tile passes over them. Compiled with the avx512 flag set.
#include <cstring>

#include "cpu/matmul_kernels.hpp"
#include "cpu/simd_avx512.hpp"

namespace actorlm::cpu::detail {
namespace {

constexpr int k_tile_rows = 4;
constexpr int64_t k_block_rows = 64;  // 4 tiles; 64 x 4096 x 4 B = 1 MiB at most

// Prefetch distance in bytes: whole tiles (the rows of a tile are adjacent in
// memory), at least k_prefetch_bytes ahead so enough lines are in flight to
// cover memory latency even for short quantized rows.
constexpr size_t k_prefetch_bytes = 8192;
inline size_t prefetch_distance(size_t row_bytes, int rows_per_tile) {
    const size_t tile = row_bytes * static_cast<size_t>(rows_per_tile);
    return tile * ((k_prefetch_bytes + tile - 1) / tile);
}

template <dtype Type>
inline __m512 load_weights(const uint8_t* row, int64_t c) {
    if constexpr (Type == dtype::f32) {
        return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + c);
    } else if constexpr (Type == dtype::f16) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * c)));
    } else {
        const __m512i w = _mm512_cvtepu16_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * c)));
        return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
    }
}

// The last cols % 16 weights, zero beyond the row.
template <dtype Type>
inline __m512 load_weights_tail(const uint8_t* row, int64_t c, __mmask16 m) {
    if constexpr (Type == dtype::f32) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + c);
    } else if constexpr (Type == dtype::f16) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * c));
    } else {
        const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + 2 * c));
        return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
    }
}

// y[t][r0..r0+R) for tokens t0..t0+T. With prefetch_next_block (set on the first
// token tile of a row block) the same rows of the next block are fetched into L2,
// so the block after this one does not wait on memory.
template <dtype Type, int R, int T>
void tile(const matmul_args& a, int64_t r0, int64_t t0, bool prefetch_next_block) {
    __m512 acc[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    const uint8_t* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = a.w + static_cast<size_t>(r0 + r) * a.row_bytes;
    const size_t pf_dist = prefetch_distance(a.row_bytes, R);
    const float* x = a.x + t0 * a.cols;
    const int64_t full = a.cols / 16 * 16;
    constexpr int64_t elem_bytes = Type == dtype::f32 ? 4 : 2;
    constexpr int64_t cols_per_line = 64 / elem_bytes;
    for (int64_t c = 0; c < full; c += 16) {
        if constexpr (T <= 2) {
            // Few tokens: memory bound. Rows are short, so the hardware prefetcher
            // barely ramps up per tile; fetch the rows of a later tile, one
            // prefetch per cache line.
            if (c % cols_per_line == 0) {
                for (int r = 0; r < R; ++r)
                    _mm_prefetch(reinterpret_cast<const char*>(rows[r] + pf_dist + c * elem_bytes),
                                 _MM_HINT_T0);
            }
        } else {
            if (prefetch_next_block && c % cols_per_line == 0) {
                for (int r = 0; r < R; ++r)
                    _mm_prefetch(reinterpret_cast<const char*>(
                                     rows[r] + k_block_rows * a.row_bytes + c * elem_bytes),
                                 _MM_HINT_T1);
            }
        }
        __m512 w[R];
        for (int r = 0; r < R; ++r) w[r] = load_weights<Type>(rows[r], c);
        for (int t = 0; t < T; ++t) {
            const __m512 xv = _mm512_loadu_ps(x + t * a.cols + c);
            for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(w[r], xv, acc[r][t]);
        }
    }
    if (full < a.cols) {
        const auto m = static_cast<__mmask16>((1u << (a.cols - full)) - 1u);
        __m512 w[R];
        for (int r = 0; r < R; ++r) w[r] = load_weights_tail<Type>(rows[r], full, m);
        for (int t = 0; t < T; ++t) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, x + t * a.cols + full);
            for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(w[r], xv, acc[r][t]);
        }
    }
    store_tile_avx512<R, T>(acc, a.y + t0 * a.rows + r0, a.rows);
}

template <dtype Type, int T>
void token_tile(const matmul_args& a, int64_t r0, int64_t r1, int64_t t0) {
    for_each_row_tile<k_tile_rows, T>(
        r0, r1, t0, [&]<int R>(int64_t r, bool prefetch) { tile<Type, R, T>(a, r, t0, prefetch); });
}

template <dtype Type>
void float_rows(const matmul_args& a, int64_t r0, int64_t r1) {
    for (int64_t b0 = r0; b0 < r1; b0 += k_block_rows) {
        const int64_t b1 = b0 + k_block_rows < r1 ? b0 + k_block_rows : r1;
        for_each_token_tile<6>(a.num_tokens,
                               [&]<int T>(int64_t t) { token_tile<Type, T>(a, b0, b1, t); });
    }
}

}  // namespace

rows_kernel avx512_quant_kernel(dtype type);

rows_kernel avx512_kernel(dtype type) {
    switch (type) {
        case dtype::f32: return float_rows<dtype::f32>;
        case dtype::f16: return float_rows<dtype::f16>;
        case dtype::bf16: return float_rows<dtype::bf16>;
        default: return avx512_quant_kernel(type);
    }
}

}  // namespace actorlm::cpu::detail

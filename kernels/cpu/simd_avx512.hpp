// simd_avx512: small AVX-512 helpers shared by the avx512 kernel files
// (horizontal sums, the 4-rows-at-once reduction, the row- and token-tile walks).
// Include only from files compiled with the avx512 flag set.
#pragma once

#include <cstdint>

#include "cpu/simd.hpp"

namespace actorlm::cpu::detail {

/// Sums of four vectors: lane i of the result is the sum of the i-th argument.
inline __m128 reduce4_avx512(__m512 a, __m512 b, __m512 c, __m512 d) {
    const __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    const __m256 b8 = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
    const __m256 c8 = _mm256_add_ps(_mm512_castps512_ps256(c), _mm512_extractf32x8_ps(c, 1));
    const __m256 d8 = _mm256_add_ps(_mm512_castps512_ps256(d), _mm512_extractf32x8_ps(d, 1));
    const __m256 ab = _mm256_hadd_ps(a8, b8);  // a01 a23 b01 b23 | a45 a67 b45 b67
    const __m256 cd = _mm256_hadd_ps(c8, d8);
    const __m256 abcd = _mm256_hadd_ps(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | a4-7 ...
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/// Sum of the 16 lanes.
inline float reduce_avx512(__m512 v) {
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Writes an R rows x T tokens register tile of partial sums to y: token t's
/// outputs start at y + t * y_stride. Four rows at a time when R allows it.
template <int R, int T>
inline void store_tile_avx512(const __m512 (&acc)[R][T], float* y, int64_t y_stride) {
    for (int t = 0; t < T; ++t) {
        float* yt = y + t * y_stride;
        if constexpr (R % 4 == 0) {
            for (int r = 0; r < R; r += 4)
                _mm_storeu_ps(
                    yt + r, reduce4_avx512(acc[r][t], acc[r + 1][t], acc[r + 2][t], acc[r + 3][t]));
        } else {
            for (int r = 0; r < R; ++r) yt[r] = reduce_avx512(acc[r][t]);
        }
    }
}

/// Walks rows [r0, r1) in register tiles: `tile_fn.template operator()<R>(row,
/// prefetch_next_block)` for tiles of R = TileRows rows (and 2 * TileRows for a single
/// token, where more rows per tile keep more memory streams in flight), then single rows.
/// The first token tile (t0 == 0) prefetches the next block of weights.
template <int TileRows, int T, class TileFn>
inline void for_each_row_tile(int64_t r0, int64_t r1, int64_t t0, TileFn&& tile_fn) {
    int64_t r = r0;
    if constexpr (T == 1) {
        for (; r + 2 * TileRows <= r1; r += 2 * TileRows)
            tile_fn.template operator()<2 * TileRows>(r, false);
    }
    for (; r + TileRows <= r1; r += TileRows) tile_fn.template operator()<TileRows>(r, t0 == 0);
    for (; r < r1; ++r) tile_fn.template operator()<1>(r, t0 == 0);
}

namespace token_tiles {
template <int R, class TileFn>
inline void remainder(int64_t rest, int64_t t, TileFn& tile_fn) {
    if constexpr (R > 0) {
        if (rest == R) return tile_fn.template operator()<R>(t);
        remainder<R - 1>(rest, t, tile_fn);
    }
}
}  // namespace token_tiles

/// Walks tokens [0, num_tokens) in register tiles: `tile_fn.template
/// operator()<W>(t0)` for every whole tile of W tokens, then once
/// `operator()<R>(t0)` for the R < W tokens left (R a compile-time width too).
template <int W, class TileFn>
inline void for_each_token_tile(int64_t num_tokens, TileFn&& tile_fn) {
    int64_t t = 0;
    for (; t + W <= num_tokens; t += W) tile_fn.template operator()<W>(t);
    token_tiles::remainder<W - 1>(num_tokens - t, t, tile_fn);
}

}  // namespace actorlm::cpu::detail

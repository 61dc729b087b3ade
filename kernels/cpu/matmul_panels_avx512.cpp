// AVX-512 VNNI kernels for weights in the 16-row panel layouts
// (weight_panels.hpp): lane i of every vector is row i of the panel. Per block of
// 32 columns and token, an int32 accumulator takes 8 vpdpbusd (4 columns each,
// the token's 4 quants broadcast from memory) and one FMA adds it to the float
// result scaled by row scale x token scale. A tile of T tokens reuses each loaded
// (and, for Q4_K, unpacked) group of quants T times; with 1-2 tokens the 8
// products alternate between two accumulators so the dependent chain does not
// stall a memory-bound decode.
// GCC 12 flags its own _mm512_undefined_* idiom in avx512fintrin.h (bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "cpu/matmul_kernels.hpp"
#include "cpu/simd_avx512.hpp"
#include "cpu/weight_panels.hpp"

namespace actorlm::cpu::detail {
namespace {

inline __m512i broadcast_quad(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

template <int T>
inline void store_tile(const matmul_args& a, int64_t panel, int64_t t0, int64_t r1,
                       const __m512 (&acc)[T]) {
    const int64_t r0 = panel * k_panel_rows;
    const int64_t valid = r1 - r0 < k_panel_rows ? r1 - r0 : k_panel_rows;
    const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1);
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(a.y + (t0 + t) * a.rows + r0, m, acc[t]);
}

// Per block: the int32 accumulators of T tokens start at their offset terms
// (-128 x the block's quant sum, divided by `offset_divisor` for quants stored
// with a smaller offset), and after the products one FMA per token adds the
// block to its float result, scaled by row scales x the token's scale.
template <int Chains, int T>
inline void start_block(__m512i (&dot)[Chains][T], const int32_t* off, int64_t nb, int64_t b,
                        int32_t offset_divisor) {
    for (int t = 0; t < T; ++t) {
        dot[0][t] = _mm512_set1_epi32(off[t * nb + b] / offset_divisor);
        if constexpr (Chains == 2) dot[1][t] = _mm512_setzero_si512();
    }
}

template <int Chains, int T>
inline void finish_block(__m512 (&acc)[T], const __m512i (&dot)[Chains][T], __m512 ws,
                         const float* dx, int64_t nb, int64_t b) {
    for (int t = 0; t < T; ++t) {
        __m512i d = dot[0][t];
        if constexpr (Chains == 2) d = _mm512_add_epi32(d, dot[1][t]);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d),
                                 _mm512_mul_ps(ws, _mm512_set1_ps(dx[t * nb + b])), acc[t]);
    }
}

// Q8_0: the accumulator starts at the token's offset term (quants are stored +128).
template <int T>
void q8_0_tile(const matmul_args& a, int64_t panel, int64_t t0, int64_t r1) {
    constexpr int chains = T <= 2 ? 2 : 1;
    const int64_t nb = a.cols / 32;
    const uint8_t* base = a.w + panel * nb * k_q8_0_panel_block_bytes;
    const int8_t* x = a.xq.qs + t0 * a.cols;
    const float* dx = a.xq.d + t0 * nb;
    const int32_t* off = a.xq.block_offsets + t0 * nb;
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = base + b * k_q8_0_panel_block_bytes;
        const __m512 ws =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
        const uint8_t* quads = blk + k_panel_rows * 2;
        __m512i dot[chains][T];
        start_block(dot, off, nb, b, 1);
        for (int k = 0; k < 8; ++k) {
            const __m512i w = _mm512_loadu_si512(quads + 64 * k);
            for (int t = 0; t < T; ++t)
                dot[k % chains][t] = _mm512_dpbusd_epi32(
                    dot[k % chains][t], w, broadcast_quad(x + t * a.cols + 32 * b + 4 * k));
        }
        finish_block(acc, dot, ws, dx, nb, b);
    }
    store_tile<T>(a, panel, t0, r1, acc);
}

// Q4_0 / Q5_0: Q4_K's nibble groups; for Q5_0 each group's 5th bits are OR-ed
// in from a 64-bit mask (one bit per byte of the unpacked vector). The
// accumulator starts at the token's offset term (quants are stored +8 / +16).
template <int T, bool FifthBit>
void nibble_tile(const matmul_args& a, int64_t panel, int64_t t0, int64_t r1) {
    constexpr int chains = T <= 2 ? 2 : 1;
    constexpr int64_t block_bytes = FifthBit ? k_q5_0_panel_block_bytes : k_q4_0_panel_block_bytes;
    const int64_t nb = a.cols / 32;
    const uint8_t* base = a.w + panel * nb * block_bytes;
    const int8_t* x = a.xq.qs + t0 * a.cols;
    const float* dx = a.xq.d + t0 * nb;
    const int32_t* off = a.xq.block_offsets + t0 * nb;
    const __m512i low4 = _mm512_set1_epi8(0x0F), bit4 = _mm512_set1_epi8(0x10);
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = base + b * block_bytes;
        const __m512 ws =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
        const uint8_t* masks = blk + k_panel_rows * 2;
        const uint8_t* nibbles = masks + (FifthBit ? 8 * 8 : 0);
        __m512i dot[chains][T];
        start_block(dot, off, nb, b, FifthBit ? 8 : 16);  // -16 / -8 x the quant sum
        for (int v = 0; v < 4; ++v) {
            const __m512i packed = _mm512_loadu_si512(nibbles + 64 * v);
            __m512i lo = _mm512_and_si512(packed, low4);
            __m512i hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4);
            if constexpr (FifthBit) {
                uint64_t m_lo, m_hi;
                std::memcpy(&m_lo, masks + 8 * v, 8);
                std::memcpy(&m_hi, masks + 8 * (v + 4), 8);
                lo = _mm512_or_si512(lo, _mm512_maskz_mov_epi8(_cvtu64_mask64(m_lo), bit4));
                hi = _mm512_or_si512(hi, _mm512_maskz_mov_epi8(_cvtu64_mask64(m_hi), bit4));
            }
            for (int t = 0; t < T; ++t) {
                const int8_t* xb = x + t * a.cols + 32 * b + 4 * v;
                dot[0][t] = _mm512_dpbusd_epi32(dot[0][t], lo, broadcast_quad(xb));
                dot[chains - 1][t] =
                    _mm512_dpbusd_epi32(dot[chains - 1][t], hi, broadcast_quad(xb + 16));
            }
        }
        finish_block(acc, dot, ws, dx, nb, b);
    }
    store_tile<T>(a, panel, t0, r1, acc);
}

// Q4_K: each 64-byte group of nibbles unpacks into column groups v (low) and
// v + 4 (high) of a sub-block; the sub-block's min term is one FNMADD per token.
template <int T>
void q4_k_tile(const matmul_args& a, int64_t panel, int64_t t0, int64_t r1) {
    constexpr int chains = T <= 2 ? 2 : 1;
    const int64_t nsb = a.cols / 256, nb = a.cols / 32;
    const uint8_t* base = a.w + panel * nsb * k_q4_k_panel_block_bytes;
    const int8_t* x = a.xq.qs + t0 * a.cols;
    const float* dx = a.xq.d + t0 * nb;
    const float* xsum = a.xq.block_scaled_sums + t0 * nb;
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t s = 0; s < nsb; ++s) {
        const uint8_t* blk = base + s * k_q4_k_panel_block_bytes;
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
        const __m512 dmin =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32)));
        const uint8_t* sc = blk + 4 * k_panel_rows;
        const uint8_t* mn = sc + 8 * k_panel_rows;
        const uint8_t* nibbles = mn + 8 * k_panel_rows;
        for (int j = 0; j < 8; ++j) {
            const int64_t b = s * 8 + j;
            const __m512 scale =
                _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
                                  _mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 16 * j)))),
                              d);
            const __m512 min =
                _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
                                  _mm_loadu_si128(reinterpret_cast<const __m128i*>(mn + 16 * j)))),
                              dmin);
            __m512i dot[chains][T];
            for (int c = 0; c < chains; ++c)
                for (int t = 0; t < T; ++t) dot[c][t] = _mm512_setzero_si512();
            for (int v = 0; v < 4; ++v) {
                const __m512i packed = _mm512_loadu_si512(nibbles + (4 * j + v) * 64);
                const __m512i lo = _mm512_and_si512(packed, low4);
                const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4);
                for (int t = 0; t < T; ++t) {
                    const int8_t* xb = x + t * a.cols + 32 * b + 4 * v;
                    dot[0][t] = _mm512_dpbusd_epi32(dot[0][t], lo, broadcast_quad(xb));
                    dot[chains - 1][t] =
                        _mm512_dpbusd_epi32(dot[chains - 1][t], hi, broadcast_quad(xb + 16));
                }
            }
            finish_block(acc, dot, scale, dx, nb, b);
            for (int t = 0; t < T; ++t)
                acc[t] = _mm512_fnmadd_ps(min, _mm512_set1_ps(xsum[t * nb + b]), acc[t]);
        }
    }
    store_tile<T>(a, panel, t0, r1, acc);
}

// Q6_K: per 32-column unit, nibble group v (low nibbles: sub-block A, high:
// sub-block B) gets its top 2 bits from the unit's two top-bit vectors, shifted
// to bits 4-5 (16-bit shifts move no bit across the byte that keeps it). The two
// 16-column sub-blocks have their own scales and accumulators, each starting at
// -32 x the token's quant sum over those 16 columns.
template <int T>
void q6_k_tile(const matmul_args& a, int64_t panel, int64_t t0, int64_t r1) {
    const int64_t nsb = a.cols / 256, nb = a.cols / 32, n16 = a.cols / 16;
    const uint8_t* base = a.w + panel * nsb * k_q6_k_panel_block_bytes;
    const int8_t* x = a.xq.qs + t0 * a.cols;
    const float* dx = a.xq.d + t0 * nb;
    const int16_t* sums = a.xq.sums + t0 * n16;
    const __m512i low4 = _mm512_set1_epi8(0x0F), top2 = _mm512_set1_epi8(0x30);
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t s = 0; s < nsb; ++s) {
        const uint8_t* blk = base + s * k_q6_k_panel_block_bytes;
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
        const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 2 * k_panel_rows);
        const uint8_t* units = blk + 2 * k_panel_rows + 16 * k_panel_rows;
        for (int u = 0; u < 8; ++u) {
            const int64_t b = s * 8 + u;
            const uint8_t* nibbles = units + u * 6 * 64;
            const __m512i top_a = _mm512_loadu_si512(nibbles + 4 * 64);
            const __m512i top_b = _mm512_loadu_si512(nibbles + 5 * 64);
            __m512i dot_a[T], dot_b[T];
            for (int t = 0; t < T; ++t) {
                dot_a[t] = _mm512_set1_epi32(-32 * sums[t * n16 + 2 * b]);
                dot_b[t] = _mm512_set1_epi32(-32 * sums[t * n16 + 2 * b + 1]);
            }
            for (int v = 0; v < 4; ++v) {
                const __m512i packed = _mm512_loadu_si512(nibbles + 64 * v);
                // Bits 2v..2v+1 of the top-bit bytes moved to bits 4-5.
                auto tops = [v, top2](__m512i h) {
                    const __m512i moved =
                        v == 3 ? _mm512_srli_epi16(h, 2) : _mm512_slli_epi16(h, 4 - 2 * v);
                    return _mm512_and_si512(moved, top2);
                };
                const __m512i lo = _mm512_or_si512(_mm512_and_si512(packed, low4), tops(top_a));
                const __m512i hi = _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4), tops(top_b));
                for (int t = 0; t < T; ++t) {
                    const int8_t* xb = x + t * a.cols + 32 * b + 4 * v;
                    dot_a[t] = _mm512_dpbusd_epi32(dot_a[t], lo, broadcast_quad(xb));
                    dot_b[t] = _mm512_dpbusd_epi32(dot_b[t], hi, broadcast_quad(xb + 16));
                }
            }
            const __m512 scale_a = _mm512_mul_ps(
                _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 2 * u * k_panel_rows)))),
                d);
            const __m512 scale_b = _mm512_mul_ps(
                _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(
                    reinterpret_cast<const __m128i*>(sc + (2 * u + 1) * k_panel_rows)))),
                d);
            for (int t = 0; t < T; ++t) {
                const __m512 xs = _mm512_set1_ps(dx[t * nb + b]);
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot_a[t]), _mm512_mul_ps(scale_a, xs),
                                         acc[t]);
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot_b[t]), _mm512_mul_ps(scale_b, xs),
                                         acc[t]);
            }
        }
    }
    store_tile<T>(a, panel, t0, r1, acc);
}

// Tiles of `Width` tokens (fewer for the last), panel by panel; Q6_K's two
// accumulator sets per token leave registers for 6.
template <template <int> class Tile, int Width = 8>
void panel_rows(const matmul_args& a, int64_t r0, int64_t r1) {
    for (int64_t p = r0 / k_panel_rows; p * k_panel_rows < r1; ++p)
        for_each_token_tile<Width>(a.num_tokens,
                                   [&]<int T>(int64_t t) { Tile<T>::run(a, p, t, r1); });
}

template <int T>
struct q8_0_tiles {
    static void run(const matmul_args& a, int64_t p, int64_t t0, int64_t r1) {
        q8_0_tile<T>(a, p, t0, r1);
    }
};
template <int T>
struct q4_0_tiles {
    static void run(const matmul_args& a, int64_t p, int64_t t0, int64_t r1) {
        nibble_tile<T, false>(a, p, t0, r1);
    }
};
template <int T>
struct q5_0_tiles {
    static void run(const matmul_args& a, int64_t p, int64_t t0, int64_t r1) {
        nibble_tile<T, true>(a, p, t0, r1);
    }
};
template <int T>
struct q6_k_tiles {
    static void run(const matmul_args& a, int64_t p, int64_t t0, int64_t r1) {
        q6_k_tile<T>(a, p, t0, r1);
    }
};
template <int T>
struct q4_k_tiles {
    static void run(const matmul_args& a, int64_t p, int64_t t0, int64_t r1) {
        q4_k_tile<T>(a, p, t0, r1);
    }
};

}  // namespace

rows_kernel avx512_panel_kernel(dtype type) {
    switch (type) {
        case dtype::q8_0: return panel_rows<q8_0_tiles>;
        case dtype::q4_0: return panel_rows<q4_0_tiles>;
        case dtype::q5_0: return panel_rows<q5_0_tiles>;
        case dtype::q4_k: return panel_rows<q4_k_tiles>;
        case dtype::q6_k: return panel_rows<q6_k_tiles, 6>;
        default: return nullptr;
    }
}

}  // namespace actorlm::cpu::detail

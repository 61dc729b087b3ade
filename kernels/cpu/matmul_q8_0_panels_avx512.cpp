// AVX-512 VNNI kernel for Q8_0 weights in the 16-row panel layout: lane i of
// every vector is row i of the panel. Per block of 32 columns and token: the
// int32 accumulator starts at the token's offset term, takes 8 vpdpbusd (4
// columns each, the token's 4 quants broadcast from memory), and one FMA adds it
// to the float result scaled by row scale x token scale. A tile of T tokens
// reuses each loaded quad T times; tokens 1-2 split the 8 products over two
// accumulators so the dependent chain does not stall a memory-bound decode.
// GCC 12 flags its own _mm512_undefined_* idiom in avx512fintrin.h (bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "cpu/matmul_kernels.hpp"
#include "cpu/q8_0_panels.hpp"

namespace actorlm::cpu::detail {
namespace {

inline __m512i broadcast_quad(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

template <int T>
void panel_tile(const matmul_args& a, int64_t panel, int64_t t0, int64_t r1) {
    constexpr int chains = T <= 2 ? 2 : 1;
    const int64_t nb = a.cols / 32;
    const uint8_t* base = a.w + panel * nb * k_panel_block_bytes;
    const int8_t* x[T];
    const float* dx[T];
    const int32_t* off[T];
    __m512 acc[T];
    for (int t = 0; t < T; ++t) {
        x[t] = a.xq.qs + (t0 + t) * a.cols;
        dx[t] = a.xq.d + (t0 + t) * nb;
        off[t] = a.xq.block_offsets + (t0 + t) * nb;
        acc[t] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = base + b * k_panel_block_bytes;
        const __m512 ws = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
        const uint8_t* quads = blk + k_panel_rows * 2;
        __m512i dot[chains][T];
        for (int t = 0; t < T; ++t) {
            dot[0][t] = _mm512_set1_epi32(off[t][b]);
            if constexpr (chains == 2) dot[1][t] = _mm512_setzero_si512();
        }
        for (int k = 0; k < 8; ++k) {
            const __m512i w = _mm512_loadu_si512(quads + 64 * k);
            for (int t = 0; t < T; ++t)
                dot[k % chains][t] = _mm512_dpbusd_epi32(dot[k % chains][t], w, broadcast_quad(x[t] + 32 * b + 4 * k));
        }
        for (int t = 0; t < T; ++t) {
            __m512i d = dot[0][t];
            if constexpr (chains == 2) d = _mm512_add_epi32(d, dot[1][t]);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(ws, _mm512_set1_ps(dx[t][b])), acc[t]);
        }
    }
    const int64_t r0 = panel * k_panel_rows;
    const int64_t valid = r1 - r0 < k_panel_rows ? r1 - r0 : k_panel_rows;
    const __mmask16 m = static_cast<__mmask16>((1u << valid) - 1);
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(a.y + (t0 + t) * a.rows + r0, m, acc[t]);
}

}  // namespace

void q8_0_panels_avx512(const matmul_args& a, int64_t r0, int64_t r1) {
    constexpr int T = 8;
    for (int64_t p = r0 / k_panel_rows; p * k_panel_rows < r1; ++p) {
        int64_t t = 0;
        for (; t + T <= a.num_tokens; t += T) panel_tile<T>(a, p, t, r1);
        switch (a.num_tokens - t) {
            case 7: panel_tile<7>(a, p, t, r1); break;
            case 6: panel_tile<6>(a, p, t, r1); break;
            case 5: panel_tile<5>(a, p, t, r1); break;
            case 4: panel_tile<4>(a, p, t, r1); break;
            case 3: panel_tile<3>(a, p, t, r1); break;
            case 2: panel_tile<2>(a, p, t, r1); break;
            case 1: panel_tile<1>(a, p, t, r1); break;
            default: break;
        }
    }
}

}  // namespace actorlm::cpu::detail

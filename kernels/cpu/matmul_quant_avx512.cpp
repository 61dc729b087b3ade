// matmul_quant_avx512: quantized weights times 8-bit activations with AVX-512
// VNNI. A "step" is 64 weights of a row against 64 activation quants (two q8
// blocks): each type's decoder turns its blocks into 64 bytes plus a per-lane
// scale, vpdpbusd forms 16 four-product sums, and one FMA applies weight scale x
// activation scale. Tiles of 4 rows x T tokens reuse each decoded step T times.
// Weights are made unsigned (q8_0 +128, q4_0 -8 and q6_k -32 undone) and the
// offset's share, offset * sum(x), is subtracted once per token and step.
#include <cstring>

#include "cpu/matmul_kernels.hpp"
#include "cpu/half.hpp"
#include "cpu/quant_blocks.hpp"
#include "cpu/simd_avx512.hpp"

namespace actorlm::cpu::detail {
namespace {

constexpr int k_tile_rows = 4;
constexpr int64_t k_block_rows = 64;

// Lanes 0-7 take element 0 of the source, lanes 8-15 element 1.
inline __m512 spread_pair(__m128 v) {
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(v));
}

// Prefetch distance in bytes: whole tiles (the rows of a tile are adjacent in
// memory), at least k_prefetch_bytes ahead so enough lines are in flight to
// cover memory latency even for short quantized rows.
constexpr size_t k_prefetch_bytes = 8192;
inline size_t prefetch_distance(size_t row_bytes, int rows_per_tile) {
    const size_t tile = row_bytes * static_cast<size_t>(rows_per_tile);
    return tile * ((k_prefetch_bytes + tile - 1) / tile);
}

// ---- per-type decoders: prepare(row, group) once per group of steps, then
// decode(step_in_group) gives 64 weight bytes and their per-lane scales. ----

struct q8_0_decoder {
    static constexpr int steps_per_group = 1;
    // Signed quants are flipped to q+128 (u8 for vpdpbusd); the extra 128*x is
    // removed per token like the q4_0/q6_k offsets.
    static constexpr int x_offset = 128;
    static constexpr bool has_mins = false;
    const block_q8_0* b = nullptr;
    bool half = false;

    void prepare(const uint8_t* row, int64_t group, bool half_step) {
        b = reinterpret_cast<const block_q8_0*>(row) + 2 * group;
        half = half_step;
    }
    void decode(int, __m512i& q, __m512& scale) const {
        const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[0].qs));
        const __m256i q1 = half ? _mm256_setzero_si256()
                                : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[1].qs));
        q = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1),
                             _mm512_set1_epi8(static_cast<char>(0x80)));
        // The two fp16 scales are words 0 and 17 of the pair; a masked load keeps
        // the vector path (no scalar round trip) and zeroes the missing one.
        const __m512i words = _mm512_maskz_loadu_epi16(half ? 0x1u : 0x20001u, b);
        const __m512i idx = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 17,
                                             17, 17, 17, 17, 17, 17, 0, 0, 0, 0, 0, 0, 0, 0);
        scale = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(idx, words)));
    }
};

// The 16 nibble bytes of two 32-weight blocks (the second absent for a half
// step) as 64 bytes in weight order: block 0 weights 0-15, 16-31, then block 1's.
inline __m512i unpack_nibble_pair(const uint8_t* qs0, const uint8_t* qs1, bool half) {
    const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs0));
    const __m128i v1 =
        half ? _mm_setzero_si128() : _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs1));
    const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(v0), v1, 1);
    const __m256i mask = _mm256_set1_epi8(0x0F);
    const __m256i lo = _mm256_and_si256(v, mask);                        // b0lo b1lo
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);  // b0hi b1hi
    const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    return _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));  // b0lo b0hi b1lo b1hi
}

// The fp16 scales of a block pair whose second scale is 16-bit word `Second`
// (the block size in words): lanes 0-7 block 0, lanes 8-15 block 1 (0 if half).
template <int Second>
inline __m512 pair_scales(const void* blocks, bool half) {
    const __m256i words = _mm256_maskz_loadu_epi16(half ? 0x1u : (0x1u | (1u << Second)), blocks);
    const __m256i idx = _mm256_set_epi16(Second, Second, Second, Second, Second, Second, Second,
                                         Second, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_cvtph_ps(_mm256_permutexvar_epi16(idx, words));
}

struct q4_0_decoder {
    static constexpr int steps_per_group = 1;
    static constexpr int x_offset = 8;
    static constexpr bool has_mins = false;
    const block_q4_0* b = nullptr;
    bool half = false;

    void prepare(const uint8_t* row, int64_t group, bool half_step) {
        b = reinterpret_cast<const block_q4_0*>(row) + 2 * group;
        half = half_step;
    }
    void decode(int, __m512i& q, __m512& scale) const {
        q = unpack_nibble_pair(b[0].qs, b[1].qs, half);
        scale = pair_scales<sizeof(block_q4_0) / 2>(b, half);
    }
};

// Q5_0: Q4_0's nibbles plus a 5th bit per weight from qh (bit j: weight j),
// spread to bytes with a mask move.
struct q5_0_decoder {
    static constexpr int steps_per_group = 1;
    static constexpr int x_offset = 16;
    static constexpr bool has_mins = false;
    const block_q5_0* b = nullptr;
    bool half = false;

    void prepare(const uint8_t* row, int64_t group, bool half_step) {
        b = reinterpret_cast<const block_q5_0*>(row) + 2 * group;
        half = half_step;
    }
    void decode(int, __m512i& q, __m512& scale) const {
        uint32_t h0, h1 = 0;
        std::memcpy(&h0, b[0].qh, 4);
        if (!half) std::memcpy(&h1, b[1].qh, 4);
        const __mmask64 bits = static_cast<__mmask64>(h0) | (static_cast<__mmask64>(h1) << 32);
        q = _mm512_or_si512(unpack_nibble_pair(b[0].qs, b[1].qs, half),
                            _mm512_maskz_mov_epi8(bits, _mm512_set1_epi8(0x10)));
        scale = pair_scales<sizeof(block_q5_0) / 2>(b, half);
    }
};

struct q4_k_decoder {
    static constexpr int steps_per_group = 4;
    static constexpr int x_offset = 0;
    static constexpr bool has_mins = true;
    const block_q4_k* b = nullptr;
    __m512 scales;  // lanes 0-7: d * sc_j
    __m512 mins;    // lanes 0-7: dmin * m_j, lanes 8-15: 0

    void prepare(const uint8_t* row, int64_t group, bool) {
        b = reinterpret_cast<const block_q4_k*>(row) + group;
        uint32_t u[3];
        std::memcpy(u, b->scales, 12);
        // Sub-blocks 0-3 keep 6 bits in bytes 0-3 (scales) / 4-7 (mins); 4-7 take
        // a nibble of bytes 8-11 and the top 2 bits of bytes 0-3 / 4-7.
        const uint32_t sc_lo = u[0] & 0x3f3f3f3fu;
        const uint32_t m_lo = u[1] & 0x3f3f3f3fu;
        const uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
        const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
        const __m128i sc8 = _mm_set_epi32(0, 0, static_cast<int>(sc_hi), static_cast<int>(sc_lo));
        const __m128i m8 = _mm_set_epi32(0, 0, static_cast<int>(m_hi), static_cast<int>(m_lo));
        const __m256 scf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sc8));
        const __m256 mf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(m8));
        scales = _mm512_zextps256_ps512(_mm256_mul_ps(scf, _mm256_set1_ps(fp16_to_fp32(b->d))));
        mins = _mm512_zextps256_ps512(_mm256_mul_ps(mf, _mm256_set1_ps(fp16_to_fp32(b->dmin))));
    }
    void decode(int k, __m512i& q, __m512& scale) const {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs + 32 * k));
        const __m256i mask = _mm256_set1_epi8(0x0F);
        q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, mask)),
                               _mm256_and_si256(_mm256_srli_epi16(v, 4), mask), 1);
        const __m512i idx =
            _mm512_add_epi32(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                             _mm512_set1_epi32(2 * k));
        scale = _mm512_permutexvar_ps(idx, scales);
    }
};

struct q6_k_decoder {
    static constexpr int steps_per_group = 4;
    static constexpr int x_offset = 32;
    static constexpr bool has_mins = false;
    const block_q6_k* b = nullptr;
    __m512 scales;  // d * scales[s], s = 0..15

    void prepare(const uint8_t* row, int64_t group, bool) {
        b = reinterpret_cast<const block_q6_k*>(row) + group;
        const __m512i s =
            _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b->scales)));
        scales = _mm512_mul_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(fp16_to_fp32(b->d)));
    }
    // Step 2h+part covers weights h*128 + part*64 .. +63: quarters 2part, 2part+1.
    // Quarter k's low nibble is in ql[64h + (k%2)*32 + l] (high half when k >= 2),
    // its top 2 bits at bit 2k of qh[32h + l]; its 16-weight scales are 8h+2k, +1.
    void decode(int step, __m512i& q, __m512& scale) const {
        const int h = step / 2, part = step % 2;
        const __m512i l = _mm512_loadu_si512(b->ql + 64 * h);
        const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qh + 32 * h));
        // hz: quarter 0/2 bits in the low 32 bytes, quarter 1/3 bits (shifted by 2) above.
        const __m512i hz =
            _mm512_inserti64x4(_mm512_castsi256_si512(hb), _mm256_srli_epi16(hb, 2), 1);
        const __m512i m0f = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
        if (part == 0) {
            q = _mm512_or_si512(_mm512_and_si512(l, m0f),
                                _mm512_and_si512(_mm512_slli_epi16(hz, 4), m30));
        } else {
            q = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m0f),
                                _mm512_and_si512(hz, m30));
        }
        // Lane group g (4 lanes = 16 weights) uses scale 4*step + g.
        const __m512i idx =
            _mm512_add_epi32(_mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0),
                             _mm512_set1_epi32(4 * step));
        scale = _mm512_permutexvar_ps(idx, scales);
    }
};

// ---- the tile kernel ----

// y[t][r0..r0+R) for tokens t0..t0+T; prefetch_next_block as in matmul_avx512.cpp.
template <class Decoder, int R, int T>
void tile(const matmul_args& a, int64_t r0, int64_t t0, bool prefetch_next_block) {
    __m512 acc[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    const uint8_t* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = a.w + static_cast<size_t>(r0 + r) * a.row_bytes;
    const size_t pf_dist = prefetch_distance(a.row_bytes, R);
    const int64_t nbx = a.cols / 32;  // activation blocks per token
    const int8_t* xq = a.xq.qs + t0 * a.cols;
    const float* xd = a.xq.d + t0 * nbx;
    const int64_t num_steps = (a.cols + 63) / 64;
    const int64_t num_groups = num_steps / Decoder::steps_per_group;
    const bool last_half = a.cols % 64 != 0;  // only q8_0/q4_0 (32-blocks) can end half a step
    const __m512i coff = _mm512_set1_epi8(static_cast<char>(Decoder::x_offset));
    const __m512i zero = _mm512_setzero_si512();

    for (int64_t g = 0; g < num_groups; ++g) {
        const bool half = last_half && g == num_groups - 1;
        Decoder dec[R];
        for (int r = 0; r < R; ++r) dec[r].prepare(rows[r], g, half);
        for (int j = 0; j < Decoder::steps_per_group; ++j) {
            const int64_t s = g * Decoder::steps_per_group + j;
            if constexpr (T <= 2) {
                // Few tokens: memory bound; fetch the rows of a later tile (short
                // rows give the hardware prefetcher little to go on).
                const size_t at =
                    static_cast<size_t>(s) * a.row_bytes * 64 / static_cast<size_t>(a.cols);
                for (int r = 0; r < R; ++r)
                    _mm_prefetch(reinterpret_cast<const char*>(rows[r] + pf_dist + at),
                                 _MM_HINT_T0);
            } else {
                if (prefetch_next_block) {
                    const size_t at =
                        static_cast<size_t>(s) * a.row_bytes * 64 / static_cast<size_t>(a.cols);
                    for (int r = 0; r < R; ++r)
                        _mm_prefetch(reinterpret_cast<const char*>(rows[r] +
                                                                   k_block_rows * a.row_bytes + at),
                                     _MM_HINT_T1);
                }
            }
            __m512i q[R];
            __m512 ws[R];
            for (int r = 0; r < R; ++r) dec[r].decode(j, q[r], ws[r]);
            for (int t = 0; t < T; ++t) {
                __m512i xv;
                __m512 dx;
                if (half) {
                    xv = _mm512_zextsi256_si512(_mm256_loadu_si256(
                        reinterpret_cast<const __m256i*>(xq + t * a.cols + 64 * s)));
                    dx = spread_pair(_mm_load_ss(xd + t * nbx + 2 * s));
                } else {
                    xv = _mm512_loadu_si512(xq + t * a.cols + 64 * s);
                    dx = spread_pair(_mm_castsi128_ps(
                        _mm_loadl_epi64(reinterpret_cast<const __m128i*>(xd + t * nbx + 2 * s))));
                }
                // (q - offset)*x = q*x - offset*x: the second term once per token.
                __m512i tbase = zero;
                if constexpr (Decoder::x_offset != 0)
                    tbase = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, coff, xv));
                for (int r = 0; r < R; ++r) {
                    const __m512i dot = _mm512_dpbusd_epi32(tbase, q[r], xv);
                    acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws[r], dx),
                                                acc[r][t]);
                }
            }
        }
        if constexpr (Decoder::has_mins) {
            // Q4_K: subtract sum_j dmin*m_j * dx_j * sum(x of sub-block j).
            for (int t = 0; t < T; ++t) {
                const __m256i s16 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                    a.xq.sums + (t0 + t) * (a.cols / 16) + 16 * g));
                const __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
                const __m256 xs =
                    _mm256_mul_ps(_mm256_cvtepi32_ps(s32), _mm256_loadu_ps(xd + t * nbx + 8 * g));
                const __m512 xs16 = _mm512_zextps256_ps512(xs);
                for (int r = 0; r < R; ++r)
                    acc[r][t] = _mm512_fnmadd_ps(dec[r].mins, xs16, acc[r][t]);
            }
        }
    }
    store_tile_avx512<R, T>(acc, a.y + t0 * a.rows + r0, a.rows);
}

template <class Decoder, int T>
void token_tile(const matmul_args& a, int64_t r0, int64_t r1, int64_t t0) {
    for_each_row_tile<k_tile_rows, T>(r0, r1, t0, [&]<int R>(int64_t r, bool prefetch) {
        tile<Decoder, R, T>(a, r, t0, prefetch);
    });
}

template <class Decoder>
void quant_rows(const matmul_args& a, int64_t r0, int64_t r1) {
    for (int64_t b0 = r0; b0 < r1; b0 += k_block_rows) {
        const int64_t b1 = b0 + k_block_rows < r1 ? b0 + k_block_rows : r1;
        for_each_token_tile<4>(a.num_tokens,
                               [&]<int T>(int64_t t) { token_tile<Decoder, T>(a, b0, b1, t); });
    }
}

}  // namespace

rows_kernel avx512_quant_kernel(dtype type) {
    switch (type) {
        case dtype::q8_0: return quant_rows<q8_0_decoder>;
        case dtype::q4_0: return quant_rows<q4_0_decoder>;
        case dtype::q5_0: return quant_rows<q5_0_decoder>;
        case dtype::q4_k: return quant_rows<q4_k_decoder>;
        case dtype::q6_k: return quant_rows<q6_k_decoder>;
        default: return nullptr;
    }
}

}  // namespace actorlm::cpu::detail

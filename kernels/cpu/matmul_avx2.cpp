// matmul_avx2: AVX2+FMA+F16C kernels (8 lanes) for processors without AVX-512.
// Float weights: tiles of 4 rows x T tokens of FMAs. Quantized weights: one
// 32-weight step per activation block, products by maddubs (u8 x s8 -> i16,
// kept below saturation: q8_0 goes through |w| and sign(x, w), the other types
// are unsigned <= 63) and madd to i32; offsets and mins as in the avx512 file.
// Compiled with -mavx2 -mfma -mf16c; selected only when the cpu level allows.
#include <cstring>

#include "cpu/half.hpp"
#include "cpu/matmul_kernels.hpp"
#include "cpu/quant_blocks.hpp"
#include "cpu/simd.hpp"

namespace actorlm::cpu::detail {
namespace {

constexpr int k_tile_rows = 4;
constexpr int64_t k_block_rows = 64;

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline float fp16(uint16_t h) { return _cvtsh_ss(h); }

// ---- float weights ----

template <dtype Type>
inline __m256 load_weights(const uint8_t* row, int64_t c) {
    if constexpr (Type == dtype::f32) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + c);
    } else if constexpr (Type == dtype::f16) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * c)));
    } else {
        const __m256i w =
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * c)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
    }
}

inline float weight_at(dtype type, const uint8_t* row, int64_t c) {
    uint16_t h;
    switch (type) {
        case dtype::f32: {
            float f;
            std::memcpy(&f, row + 4 * c, 4);
            return f;
        }
        case dtype::f16: std::memcpy(&h, row + 2 * c, 2); return fp16_to_fp32(h);
        default: std::memcpy(&h, row + 2 * c, 2); return bf16_to_fp32(h);
    }
}

template <dtype Type, int R, int T>
void float_tile(const matmul_args& a, int64_t r0, int64_t t0) {
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    const uint8_t* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = a.w + static_cast<size_t>(r0 + r) * a.row_bytes;
    const float* x = a.x + t0 * a.cols;
    const int64_t full = a.cols / 8 * 8;
    for (int64_t c = 0; c < full; c += 8) {
        __m256 w[R];
        for (int r = 0; r < R; ++r) w[r] = load_weights<Type>(rows[r], c);
        for (int t = 0; t < T; ++t) {
            const __m256 xv = _mm256_loadu_ps(x + t * a.cols + c);
            for (int r = 0; r < R; ++r) acc[r][t] = _mm256_fmadd_ps(w[r], xv, acc[r][t]);
        }
    }
    for (int t = 0; t < T; ++t) {
        for (int r = 0; r < R; ++r) {
            float sum = hsum(acc[r][t]);
            for (int64_t c = full; c < a.cols; ++c)
                sum += weight_at(Type, rows[r], c) * x[t * a.cols + c];
            a.y[(t0 + t) * a.rows + r0 + r] = sum;
        }
    }
}

// ---- quantized weights: decode(step) gives 32 unsigned (or, for q8_0, signed)
// weight bytes and their per-lane scale (lanes = 4-byte groups after madd). ----

struct q8_0_dec {
    static constexpr int steps_per_group = 1, x_offset = 0;
    static constexpr bool is_signed = true, has_mins = false;
    const block_q8_0* b;
    void prepare(const uint8_t* row, int64_t g) {
        b = reinterpret_cast<const block_q8_0*>(row) + g;
    }
    void decode(int, __m256i& q, __m256& scale) const {
        q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs));
        scale = _mm256_set1_ps(fp16(b->d));
    }
};

struct q4_0_dec {
    static constexpr int steps_per_group = 1, x_offset = 8;
    static constexpr bool is_signed = false, has_mins = false;
    const block_q4_0* b;
    void prepare(const uint8_t* row, int64_t g) {
        b = reinterpret_cast<const block_q4_0*>(row) + g;
    }
    void decode(int, __m256i& q, __m256& scale) const {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->qs));
        const __m128i m = _mm_set1_epi8(0x0F);
        q = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v, m)),
                                    _mm_and_si128(_mm_srli_epi16(v, 4), m), 1);
        scale = _mm256_set1_ps(fp16(b->d));
    }
};

// Byte j is 0xFF where bit j of `bits` is set.
inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i pick =
        _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), pick);
    // Every bit but bit (j % 8) set in byte j: the OR is all ones iff that bit is set.
    const __m256i all_but = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    return _mm256_cmpeq_epi8(_mm256_or_si256(v, all_but), _mm256_set1_epi64x(-1));
}

struct q5_0_dec {
    static constexpr int steps_per_group = 1, x_offset = 16;
    static constexpr bool is_signed = false, has_mins = false;
    const block_q5_0* b;
    void prepare(const uint8_t* row, int64_t g) {
        b = reinterpret_cast<const block_q5_0*>(row) + g;
    }
    void decode(int, __m256i& q, __m256& scale) const {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->qs));
        const __m128i m = _mm_set1_epi8(0x0F);
        const __m256i nibbles = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(v, m)),
                                                        _mm_and_si128(_mm_srli_epi16(v, 4), m), 1);
        uint32_t qh;
        std::memcpy(&qh, b->qh, 4);
        q = _mm256_or_si256(nibbles, _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
        scale = _mm256_set1_ps(fp16(b->d));
    }
};

struct q4_k_dec {
    static constexpr int steps_per_group = 8, x_offset = 0;
    static constexpr bool is_signed = false, has_mins = true;
    const block_q4_k* b;
    float sc[8], mins[8];
    void prepare(const uint8_t* row, int64_t g) {
        b = reinterpret_cast<const block_q4_k*>(row) + g;
        const float d = fp16(b->d), dmin = fp16(b->dmin);
        for (int j = 0; j < 8; ++j) {
            uint8_t s = 0, m = 0;
            q4_k_scale_min(j, b->scales, s, m);
            sc[j] = d * s;
            mins[j] = dmin * m;
        }
    }
    void decode(int j, __m256i& q, __m256& scale) const {
        const __m256i v =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs + 32 * (j / 2)));
        q = _mm256_and_si256(j % 2 ? _mm256_srli_epi16(v, 4) : v, _mm256_set1_epi8(0x0F));
        scale = _mm256_set1_ps(sc[j]);
    }
};

struct q6_k_dec {
    static constexpr int steps_per_group = 8, x_offset = 32;
    static constexpr bool is_signed = false, has_mins = false;
    const block_q6_k* b;
    float d;
    void prepare(const uint8_t* row, int64_t g) {
        b = reinterpret_cast<const block_q6_k*>(row) + g;
        d = fp16(b->d);
    }
    // Step 4h+k is quarter k of half h (see dequantize_q6_k).
    void decode(int j, __m256i& q, __m256& scale) const {
        const int h = j / 4, k = j % 4;
        __m256i lo =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->ql + 64 * h + (k % 2) * 32));
        if (k >= 2) lo = _mm256_srli_epi16(lo, 4);
        const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qh + 32 * h));
        const __m256i hbits = _mm256_slli_epi16(_mm256_srli_epi16(hi, 2 * k), 4);
        q = _mm256_or_si256(_mm256_and_si256(lo, _mm256_set1_epi8(0x0F)),
                            _mm256_and_si256(hbits, _mm256_set1_epi8(0x30)));
        const float s0 = d * b->scales[8 * h + 2 * k], s1 = d * b->scales[8 * h + 2 * k + 1];
        scale = _mm256_setr_ps(s0, s0, s0, s0, s1, s1, s1, s1);
    }
};

template <class Dec, int R, int T>
void quant_tile(const matmul_args& a, int64_t r0, int64_t t0) {
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    const uint8_t* rows[R];
    for (int r = 0; r < R; ++r) rows[r] = a.w + static_cast<size_t>(r0 + r) * a.row_bytes;
    const int64_t nbx = a.cols / 32;
    const int64_t num_groups = nbx / Dec::steps_per_group;
    const __m256i ones16 = _mm256_set1_epi16(1);
    const __m256i coff = _mm256_set1_epi8(static_cast<char>(Dec::x_offset));
    for (int64_t g = 0; g < num_groups; ++g) {
        Dec dec[R];
        for (int r = 0; r < R; ++r) dec[r].prepare(rows[r], g);
        for (int j = 0; j < Dec::steps_per_group; ++j) {
            const int64_t s = g * Dec::steps_per_group + j;  // activation block
            __m256i q[R];
            __m256 ws[R];
            for (int r = 0; r < R; ++r) dec[r].decode(j, q[r], ws[r]);
            for (int t = 0; t < T; ++t) {
                const __m256i xv = _mm256_loadu_si256(
                    reinterpret_cast<const __m256i*>(a.xq.qs + (t0 + t) * a.cols + 32 * s));
                const __m256 dx = _mm256_set1_ps(a.xq.d[(t0 + t) * nbx + s]);
                __m256i tbase = _mm256_setzero_si256();
                if constexpr (Dec::x_offset != 0)
                    tbase = _mm256_madd_epi16(_mm256_maddubs_epi16(coff, xv), ones16);
                for (int r = 0; r < R; ++r) {
                    __m256i p;
                    if constexpr (Dec::is_signed) {
                        p = _mm256_maddubs_epi16(_mm256_sign_epi8(q[r], q[r]),
                                                 _mm256_sign_epi8(xv, q[r]));
                    } else {
                        p = _mm256_maddubs_epi16(q[r], xv);
                    }
                    const __m256i dot = _mm256_sub_epi32(_mm256_madd_epi16(p, ones16), tbase);
                    acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(ws[r], dx),
                                                acc[r][t]);
                }
            }
        }
        if constexpr (Dec::has_mins) {
            for (int t = 0; t < T; ++t) {
                const int16_t* sums = a.xq.sums + (t0 + t) * (a.cols / 16) + 16 * g;
                const __m256i s32 = _mm256_madd_epi16(
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sums)), ones16);
                const __m256 xs = _mm256_mul_ps(_mm256_cvtepi32_ps(s32),
                                                _mm256_loadu_ps(a.xq.d + (t0 + t) * nbx + 8 * g));
                for (int r = 0; r < R; ++r)
                    acc[r][t] = _mm256_fnmadd_ps(_mm256_loadu_ps(dec[r].mins), xs, acc[r][t]);
            }
        }
    }
    for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) a.y[(t0 + t) * a.rows + r0 + r] = hsum(acc[r][t]);
}

// Rows in blocks that stay in cache while every token tile passes over them.
template <template <int, int> class Tile, int T>
void rows_by_tiles(const matmul_args& a, int64_t r0, int64_t r1) {
    for (int64_t b0 = r0; b0 < r1; b0 += k_block_rows) {
        const int64_t b1 = b0 + k_block_rows < r1 ? b0 + k_block_rows : r1;
        int64_t t = 0;
        auto rows = [&](auto tokens) {
            constexpr int n = decltype(tokens)::value;
            int64_t r = b0;
            for (; r + k_tile_rows <= b1; r += k_tile_rows) Tile<k_tile_rows, n>::run(a, r, t);
            for (; r < b1; ++r) Tile<1, n>::run(a, r, t);
            t += n;
        };
        while (t + T <= a.num_tokens) rows(std::integral_constant<int, T>{});
        if (a.num_tokens - t == 2) rows(std::integral_constant<int, 2>{});
        if (a.num_tokens - t == 1) rows(std::integral_constant<int, 1>{});
    }
}

template <dtype Type>
struct float_tiles {
    template <int R, int T>
    struct tile {
        static void run(const matmul_args& a, int64_t r, int64_t t) {
            float_tile<Type, R, T>(a, r, t);
        }
    };
};

template <class Dec>
struct quant_tiles {
    template <int R, int T>
    struct tile {
        static void run(const matmul_args& a, int64_t r, int64_t t) {
            quant_tile<Dec, R, T>(a, r, t);
        }
    };
};

template <dtype Type>
void float_rows(const matmul_args& a, int64_t r0, int64_t r1) {
    rows_by_tiles<float_tiles<Type>::template tile, 3>(a, r0, r1);
}

template <class Dec>
void quant_rows(const matmul_args& a, int64_t r0, int64_t r1) {
    rows_by_tiles<quant_tiles<Dec>::template tile, 2>(a, r0, r1);
}

}  // namespace

rows_kernel avx2_kernel(dtype type) {
    switch (type) {
        case dtype::f32: return float_rows<dtype::f32>;
        case dtype::f16: return float_rows<dtype::f16>;
        case dtype::bf16: return float_rows<dtype::bf16>;
        case dtype::q8_0: return quant_rows<q8_0_dec>;
        case dtype::q4_0: return quant_rows<q4_0_dec>;
        case dtype::q5_0: return quant_rows<q5_0_dec>;
        case dtype::q4_k: return quant_rows<q4_k_dec>;
        case dtype::q6_k: return quant_rows<q6_k_dec>;
    }
    return nullptr;
}

}  // namespace actorlm::cpu::detail

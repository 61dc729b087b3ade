// quant_blocks: the ggml block layouts of the quantized weight types, byte for
// byte (GGUF tensors are read in place), and the helpers to unpack their
// scales. Sizes are checked against dtype_block_bytes so a layout slip fails
// to compile instead of misreading every row.
#pragma once

#include <cstdint>

#include "base/dtype.hpp"

namespace actorlm::cpu {

/// Q8_0: 32 weights = d * qs[i].
struct block_q8_0 {
    uint16_t d;  // fp16
    int8_t qs[32];
};

/// Q4_0: 32 weights = d * (nibble - 8); byte j holds weight j (low) and j+16 (high).
struct block_q4_0 {
    uint16_t d;  // fp16
    uint8_t qs[16];
};

/// Q5_0: 32 weights = d * (q5 - 16); q5 = nibble | (bit << 4), byte j of qs
/// holding weights j (low) and j+16 (high), bit j of qh the 5th bit of weight j.
struct block_q5_0 {
    uint16_t d;  // fp16
    uint8_t qh[4];
    uint8_t qs[16];
};
/// Q4_K: 256 weights in 8 sub-blocks of 32, each with a 6-bit scale and min:
/// w = d * sc * nibble - dmin * m. Bytes 32k..32k+31 hold sub-blocks 2k (low
/// nibbles) and 2k+1 (high nibbles).
struct block_q4_k {
    uint16_t d;     // fp16 scale of the sub-block scales
    uint16_t dmin;  // fp16 scale of the sub-block mins
    uint8_t scales[12];
    uint8_t qs[128];
};

/// Q6_K: 256 weights in 16 sub-blocks of 16, w = d * scales[s] * (q6 - 32); the
/// low 4 bits live in ql, the high 2 bits in qh (see dequantize_q6_k).
struct block_q6_k {
    uint8_t ql[128];
    uint8_t qh[64];
    int8_t scales[16];
    uint16_t d;  // fp16
};

static_assert(sizeof(block_q8_0) == dtype_block_bytes(dtype::q8_0));
static_assert(sizeof(block_q4_0) == dtype_block_bytes(dtype::q4_0));
static_assert(sizeof(block_q5_0) == dtype_block_bytes(dtype::q5_0));
static_assert(sizeof(block_q4_k) == dtype_block_bytes(dtype::q4_k));
static_assert(sizeof(block_q6_k) == dtype_block_bytes(dtype::q6_k));

/// Scale and min of Q4_K sub-block j (0..7) from the 12 packed bytes: sub-blocks
/// 0-3 use the low 6 bits of bytes j and j+4; 4-7 combine a nibble of byte j+4
/// with the top 2 bits of bytes j-4 and j.
inline void q4_k_scale_min(int j, const uint8_t* q, uint8_t& scale, uint8_t& min) {
    if (j < 4) {
        scale = q[j] & 63;
        min = q[j + 4] & 63;
    } else {
        scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

}  // namespace actorlm::cpu

// Element types of weights and KV caches. Values equal ggml's type ids so GGUF
// tensors map one to one; quantized types are stored as ggml blocks along a row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace actorlm {

enum class dtype : uint32_t {
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q5_0 = 6,
    q8_0 = 8,
    q4_k = 12,
    q6_k = 14,
    bf16 = 30,
};

/// Elements per quantization block (1 for plain floats).
constexpr int64_t dtype_block_elems(dtype t) {
    switch (t) {
        case dtype::f32:
        case dtype::f16:
        case dtype::bf16: return 1;
        case dtype::q4_0:
        case dtype::q5_0:
        case dtype::q8_0: return 32;
        case dtype::q4_k:
        case dtype::q6_k: return 256;
    }
    return 0;
}

/// Bytes per quantization block (bytes per element for plain floats).
constexpr size_t dtype_block_bytes(dtype t) {
    switch (t) {
        case dtype::f32: return 4;
        case dtype::f16:
        case dtype::bf16: return 2;
        case dtype::q4_0: return 18;   // f16 scale + 16 bytes of nibbles
        case dtype::q5_0: return 22;   // f16 scale + 4 bytes of 5th bits + 16 bytes of nibbles
        case dtype::q8_0: return 34;   // f16 scale + 32 int8
        case dtype::q4_k: return 144;  // f16 d, dmin + 12 scale bytes + 128 nibble bytes
        case dtype::q6_k: return 210;  // 128 ql + 64 qh + 16 scales + f16 d
    }
    return 0;
}

/// Bytes of a row of n elements; n must be a multiple of the block size.
constexpr size_t dtype_row_bytes(dtype t, int64_t n) {
    return static_cast<size_t>(n / dtype_block_elems(t)) * dtype_block_bytes(t);
}

const char* dtype_name(dtype t);
/// Maps a ggml type id to a supported dtype; nullopt when we cannot run it.
std::optional<dtype> dtype_from_ggml(uint32_t ggml_type);

}  // namespace actorlm

// random_weights: deterministic random weight matrices of every dtype for the
// kernel tests. Quantized blocks get random quants and modest fp16 scales, so
// every bit pattern of the layouts (high scale bits, negative q6 scales) occurs.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cpu/half.hpp"
#include "model/model_weights.hpp"

namespace actorlm::test {

/// `n` floats drawn uniformly from [-scale, scale], the same for the same seed.
inline std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-scale, scale);
    std::vector<float> v(n);
    for (float& x : v) x = uniform(rng);
    return v;
}

/// A tensor plus the bytes it points into.
struct owned_tensor {
    std::vector<uint8_t> bytes;
    tensor view;
};

inline owned_tensor random_matrix(dtype type, int64_t rows, int64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    std::uniform_int_distribution<int> byte(0, 255);
    owned_tensor t;
    const size_t row_bytes = dtype_row_bytes(type, cols);
    t.bytes.resize(row_bytes * static_cast<size_t>(rows));
    auto put16 = [&](size_t at, uint16_t v) {
        t.bytes[at] = static_cast<uint8_t>(v & 0xff);
        t.bytes[at + 1] = static_cast<uint8_t>(v >> 8);
    };
    const int64_t n = rows * cols;
    switch (type) {
        case dtype::f32:
            for (int64_t i = 0; i < n; ++i) {
                const float v = uni(rng);
                std::memcpy(t.bytes.data() + 4 * i, &v, 4);
            }
            break;
        case dtype::f16:
            for (int64_t i = 0; i < n; ++i)
                put16(2 * static_cast<size_t>(i), cpu::fp32_to_fp16(uni(rng)));
            break;
        case dtype::bf16:
            for (int64_t i = 0; i < n; ++i)
                put16(2 * static_cast<size_t>(i), cpu::fp32_to_bf16(uni(rng)));
            break;
        default: {
            for (auto& b : t.bytes) b = static_cast<uint8_t>(byte(rng));
            const size_t block_bytes = dtype_block_bytes(type);
            for (size_t at = 0; at < t.bytes.size(); at += block_bytes) {
                const uint16_t scale = cpu::fp32_to_fp16(0.002f + 0.02f * (uni(rng) + 1.0f));
                if (type == dtype::q8_0 || type == dtype::q4_0 || type == dtype::q5_0) {
                    put16(at, scale);
                } else if (type == dtype::q4_k) {
                    put16(at, scale);
                    put16(at + 2, cpu::fp32_to_fp16(0.001f + 0.01f * (uni(rng) + 1.0f)));
                } else if (type == dtype::q6_k) {
                    put16(at + 208, scale);
                }
            }
        }
    }
    t.view.name = "random";
    t.view.type = type;
    t.view.shape = {rows, cols};
    t.view.data = t.bytes.data();
    t.view.num_bytes = t.bytes.size();
    return t;
}

inline std::vector<float> random_activations(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = normal(rng);
    return x;
}

}  // namespace actorlm::test

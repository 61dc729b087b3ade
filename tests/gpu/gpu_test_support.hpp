// Helpers of the GPU test suite: skipping without a device, host <-> device
// copies, F16/BF16 rounding on the host, and the normalized mean squared error
// (test-backend-ops' NMSE) that every kernel comparison uses.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <cuda_runtime_api.h>

#include "backends/cuda/cuda_executor.hpp"
#include "base/dtype.hpp"

/// Skips the test case (with a message, counted as passed) when no CUDA device exists.
#define ACTORLM_REQUIRE_GPU()                                                             \
    do {                                                                                  \
        if (actorlm::cuda::cuda_device_count() == 0) {                                    \
            MESSAGE("skipped: no CUDA device (cudaGetDeviceCount failed or returned 0)"); \
            return;                                                                       \
        }                                                                                 \
    } while (0)

namespace actorlm::test {

inline uint16_t float_to_bf16_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN
    u += 0x7fffu + ((u >> 16) & 1u);                     // round to nearest even
    return static_cast<uint16_t>(u >> 16);
}

inline float bf16_bits_to_float(uint16_t b) {
    const uint32_t u = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

/// Rounds `v` to what `t` (f32/f16/bf16) can hold.
inline float round_to(dtype t, float v) {
    if (t == dtype::bf16) return bf16_bits_to_float(float_to_bf16_bits(v));
    if (t == dtype::f16) return static_cast<float>(static_cast<_Float16>(v));
    return v;
}

/// Encodes floats as the bytes of type t.
inline std::vector<uint8_t> encode(dtype t, const std::vector<float>& v) {
    std::vector<uint8_t> out(v.size() * dtype_block_bytes(t));
    for (size_t i = 0; i < v.size(); ++i) {
        if (t == dtype::f32) {
            std::memcpy(out.data() + 4 * i, &v[i], 4);
        } else if (t == dtype::bf16) {
            const uint16_t b = float_to_bf16_bits(v[i]);
            std::memcpy(out.data() + 2 * i, &b, 2);
        } else {
            const _Float16 h = static_cast<_Float16>(v[i]);
            std::memcpy(out.data() + 2 * i, &h, 2);
        }
    }
    return out;
}

/// Decodes bytes of type t into floats.
inline std::vector<float> decode(dtype t, const std::vector<uint8_t>& bytes) {
    const size_t n = bytes.size() / dtype_block_bytes(t);
    std::vector<float> out(n);
    for (size_t i = 0; i < n; ++i) {
        if (t == dtype::f32) {
            std::memcpy(&out[i], bytes.data() + 4 * i, 4);
        } else if (t == dtype::bf16) {
            uint16_t b;
            std::memcpy(&b, bytes.data() + 2 * i, 2);
            out[i] = bf16_bits_to_float(b);
        } else {
            _Float16 h;
            std::memcpy(&h, bytes.data() + 2 * i, 2);
            out[i] = static_cast<float>(h);
        }
    }
    return out;
}

/// A device allocation filled from / read back into host vectors (test-only; REQUIREs
/// success instead of returning a status).
class device_array {
public:
    device_array() = default;
    explicit device_array(size_t bytes) { allocate(bytes); }
    template <class T>
    explicit device_array(const std::vector<T>& host) {
        allocate(host.size() * sizeof(T));
        if (!host.empty())
            REQUIRE(cudaMemcpy(ptr_, host.data(), bytes_, cudaMemcpyHostToDevice) == cudaSuccess);
    }
    ~device_array() {
        if (ptr_) cudaFree(ptr_);
    }
    device_array(const device_array&) = delete;
    device_array& operator=(const device_array&) = delete;

    void allocate(size_t bytes) {
        bytes_ = bytes;
        REQUIRE(cudaMalloc(&ptr_, bytes < 16 ? 16 : bytes) == cudaSuccess);
        REQUIRE(cudaMemset(ptr_, 0, bytes < 16 ? 16 : bytes) == cudaSuccess);
    }
    template <class T>
    std::vector<T> read() const {
        REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
        std::vector<T> out(bytes_ / sizeof(T));
        if (!out.empty())
            REQUIRE(cudaMemcpy(out.data(), ptr_, bytes_, cudaMemcpyDeviceToHost) == cudaSuccess);
        return out;
    }
    void* get() const { return ptr_; }
    template <class T>
    T* as() const {
        return static_cast<T*>(ptr_);
    }

private:
    void* ptr_ = nullptr;
    size_t bytes_ = 0;
};

/// sum((a - ref)^2) / sum(ref^2): 0 for equal vectors, ~1 for unrelated ones.
inline double nmse(const std::vector<float>& a, const std::vector<double>& ref) {
    REQUIRE(a.size() == ref.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = static_cast<double>(a[i]) - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

/// Error bound per element type: FP32 kernels agree to rounding, 16-bit ones to
/// their 8 (bf16) or 11 (f16) mantissa bits.
inline double nmse_bound(dtype t) {
    return t == dtype::f32 ? 1e-9 : (t == dtype::f16 ? 1e-5 : 1e-4);
}

inline std::vector<float> random_floats(std::mt19937& rng, size_t n, float lo = -1.0f,
                                        float hi = 1.0f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

inline const dtype k_float_types[] = {dtype::f32, dtype::f16, dtype::bf16};

}  // namespace actorlm::test

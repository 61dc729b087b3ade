// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"):
// a counter-based generator, so the draw of request r at step s is a pure
// function of (seed_r, s) on any device, with no generator state to carry.
// Usable from host and device code.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define ACTORLM_HD __host__ __device__ __forceinline__
#else
#define ACTORLM_HD inline
#endif

namespace actorlm::cuda {

struct philox_block {
    uint32_t v[4];
};

/// The 4 x 32 random bits of counter (counter_lo, counter_hi, 0, 0) under `key`.
ACTORLM_HD philox_block philox4x32_10(uint64_t key, uint64_t counter) {
    uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
    uint32_t c2 = 0, c3 = 0;
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
        const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
        const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
        const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
        const uint32_t n1 = static_cast<uint32_t>(p1);
        const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
        const uint32_t n3 = static_cast<uint32_t>(p0);
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return {{c0, c1, c2, c3}};
}

/// 64 random bits for (seed, counter).
ACTORLM_HD uint64_t philox_u64(uint64_t seed, uint64_t counter) {
    const philox_block b = philox4x32_10(seed, counter);
    return (static_cast<uint64_t>(b.v[0]) << 32) | b.v[1];
}

}  // namespace actorlm::cuda

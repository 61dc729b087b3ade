// quantize_q8_0 implementation: ggml's reference order of operations (the scale's
// inverse is taken from the fp32 scale, before it is rounded to fp16), so the
// blocks equal llama.cpp's byte for byte. A KV row is a few hundred values per
// token and layer: the scalar loop costs far less than the matmuls that made them.
#include "cpu/quantize_q8_0.hpp"

#include <cmath>

#include "base/check.hpp"
#include "cpu/half.hpp"

namespace actorlm::cpu {

void quantize_row_q8_0(const float* src, block_q8_0* dst, int64_t n) {
    ACTORLM_CHECK(n % 32 == 0, "quantize_row_q8_0: %lld values are not whole blocks of 32",
                  static_cast<long long>(n));
    for (int64_t b = 0; b < n / 32; ++b) {
        const float* x = src + b * 32;
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        dst[b].d = fp32_to_fp16(d);
        for (int j = 0; j < 32; ++j) dst[b].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
    }
}

}  // namespace actorlm::cpu

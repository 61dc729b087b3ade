// Portable paged attention (plain loops the compiler may vectorize) and the
// run-time choice of the AVX-512 or AVX2 variant.
#include "cpu/attention.hpp"

#include <cmath>

#include "cpu/attention_impl.hpp"
#include "cpu/cpu_features.hpp"
#include "cpu/half.hpp"

namespace actorlm::cpu {

namespace {

inline float to_float(float x) { return x; }
inline float to_float(uint16_t x) { return fp16_to_fp32(x); }

struct generic_ops {
    template <class T>
    static float dot(const float* q, const T* k, int64_t n) {
        float acc = 0.0f;
        for (int64_t i = 0; i < n; ++i) acc += q[i] * to_float(k[i]);
        return acc;
    }
    template <class T>
    static void axpy(float* out, float a, const T* v, int64_t n) {
        for (int64_t i = 0; i < n; ++i) out[i] += a * to_float(v[i]);
    }
    static float exp_shift_sum(float* s, int64_t n, float shift) {
        float sum = 0.0f;
        for (int64_t i = 0; i < n; ++i) {
            s[i] = std::exp(s[i] - shift);
            sum += s[i];
        }
        return sum;
    }
    static void zero(float* out, int64_t n) {
        for (int64_t i = 0; i < n; ++i) out[i] = 0.0f;
    }
    static void scale(float* out, float a, int64_t n) {
        for (int64_t i = 0; i < n; ++i) out[i] *= a;
    }
};

}  // namespace

void paged_attention_kv_head(const paged_kv_layer& kv, const attention_query& query,
                             int32_t num_heads, int32_t kv_head, float scale) {
    if (active_cpu_level() == cpu_level::avx512) {
        detail::paged_attention_kv_head_avx512(kv, query, num_heads, kv_head, scale);
        return;
    }
    if (active_cpu_level() == cpu_level::avx2 &&
        detail::paged_attention_kv_head_avx2(kv, query, num_heads, kv_head, scale))
        return;
    const int32_t group = num_heads / kv.num_kv_heads;
    for (int32_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        if (kv.type == dtype::f16) {
            detail::paged_attention_head_impl<generic_ops, uint16_t>(kv, query, num_heads, h,
                                                                     scale);
        } else {
            detail::paged_attention_head_impl<generic_ops, float>(kv, query, num_heads, h, scale);
        }
    }
}

}  // namespace actorlm::cpu

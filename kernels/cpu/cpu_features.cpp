// cpu_features: cpuid/xgetbv probing and the process-wide kernel level. The
// level is an atomic initialized on first use from the detected features and
// ACTORLM_CPU; an unusable ACTORLM_CPU value is reported on stderr once and
// ignored, since a kernel call has no error path to carry it.
#include "cpu/cpu_features.hpp"

#include <cpuid.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace actorlm::cpu {
namespace {

uint64_t read_xcr0() {
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

cpu_features probe() {
    cpu_features f;
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = (c >> 27) & 1;
    const bool avx = (c >> 28) & 1;
    if (!osxsave || !avx) return f;
    const uint64_t xcr0 = read_xcr0();
    const bool ymm_state = (xcr0 & 0x6) == 0x6;    // SSE + AVX registers saved
    const bool zmm_state = (xcr0 & 0xe6) == 0xe6;  // + opmask, zmm hi256, hi16
    if (!ymm_state) return f;
    f.fma = (c >> 12) & 1;
    f.f16c = (c >> 29) & 1;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
    f.avx2 = (b >> 5) & 1;
    if (zmm_state) {
        f.avx512f = (b >> 16) & 1;
        f.avx512dq = (b >> 17) & 1;
        f.avx512bw = (b >> 30) & 1;
        f.avx512vl = (b >> 31) & 1;
        f.avx512vnni = (c >> 11) & 1;
        unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
        if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) f.avx512bf16 = (a1 >> 5) & 1;
    }
    return f;
}

bool supports(const cpu_features& f, cpu_level level) {
    const bool avx2 = f.avx2 && f.fma && f.f16c;
    switch (level) {
        case cpu_level::portable: return true;
        case cpu_level::avx2: return avx2;
        case cpu_level::avx512:
            return avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni;
    }
    return false;
}

cpu_level initial_level() {
    cpu_level level = best_supported_level();
    if (const char* env = std::getenv("ACTORLM_CPU"); env != nullptr && *env != '\0') {
        auto parsed = parse_cpu_level(env);
        if (!parsed.ok()) {
            std::fprintf(stderr, "actorlm: ignoring ACTORLM_CPU: %s\n", parsed.message().c_str());
        } else if (!supports(detected_cpu_features(), *parsed)) {
            std::fprintf(stderr, "actorlm: ignoring ACTORLM_CPU=%s: this processor lacks it\n",
                         env);
        } else {
            level = *parsed;
        }
    }
    return level;
}

std::atomic<int>& level_slot() {
    static std::atomic<int> slot{static_cast<int>(initial_level())};
    return slot;
}

}  // namespace

const cpu_features& detected_cpu_features() {
    static const cpu_features features = probe();
    return features;
}

cpu_level best_supported_level() {
    const cpu_features& f = detected_cpu_features();
    if (supports(f, cpu_level::avx512)) return cpu_level::avx512;
    if (supports(f, cpu_level::avx2)) return cpu_level::avx2;
    return cpu_level::portable;
}

cpu_level active_cpu_level() {
    return static_cast<cpu_level>(level_slot().load(std::memory_order_relaxed));
}

status set_cpu_level(cpu_level level) {
    if (!supports(detected_cpu_features(), level)) {
        return make_error("cpu level %s is not supported by this processor", cpu_level_name(level));
    }
    level_slot().store(static_cast<int>(level), std::memory_order_relaxed);
    return {};
}

const char* cpu_level_name(cpu_level level) {
    switch (level) {
        case cpu_level::portable: return "portable";
        case cpu_level::avx2: return "avx2";
        case cpu_level::avx512: return "avx512";
    }
    return "unknown";
}

result<cpu_level> parse_cpu_level(std::string_view name) {
    if (name == "portable") return cpu_level::portable;
    if (name == "avx2") return cpu_level::avx2;
    if (name == "avx512") return cpu_level::avx512;
    return make_error("unknown cpu level '%.*s' (expected portable, avx2 or avx512)",
                      static_cast<int>(name.size()), name.data());
}

}  // namespace actorlm::cpu

// cpu_features: what the processor supports (cpuid + OS-enabled register state)
// and which kernel level runs. The level starts as the best supported one,
// lowered by ACTORLM_CPU=portable|avx2|avx512 (read once); tests may switch it
// with set_cpu_level(). Reads and switches are atomic; switch only while no
// kernel runs, since one matmul must not mix levels.
#pragma once

#include <string_view>

#include "base/result.hpp"

namespace actorlm::cpu {

/// Instruction-set flags the kernels care about.
struct cpu_features {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512vnni = false, avx512bf16 = false;
};

/// Kernel families, ordered: each level needs everything the lower ones need.
/// avx2 = AVX2+FMA+F16C; avx512 = F/BW/VL/DQ + VNNI (+ the avx2 set).
enum class cpu_level { portable = 0, avx2 = 1, avx512 = 2 };

/// The features of the running processor, detected once.
const cpu_features& detected_cpu_features();

/// Highest level the processor (and OS) supports.
cpu_level best_supported_level();

/// The level the kernels use now (see file comment).
cpu_level active_cpu_level();

/// Forces the kernels' level; fails when the processor lacks it.
status set_cpu_level(cpu_level level);

/// "portable" / "avx2" / "avx512".
const char* cpu_level_name(cpu_level level);

/// Parses a level name as ACTORLM_CPU spells it.
result<cpu_level> parse_cpu_level(std::string_view name);

}  // namespace actorlm::cpu

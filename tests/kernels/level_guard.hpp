// level_guard: runs a test body at one cpu level and restores the previous
// level afterwards; levels the processor lacks are reported and skipped.
#pragma once

#include <doctest/doctest.h>

#include <vector>

#include "cpu/cpu_features.hpp"

namespace actorlm::test {

class level_guard {
public:
    explicit level_guard(cpu::cpu_level level) : saved_(cpu::active_cpu_level()) {
        ok_ = cpu::set_cpu_level(level).ok();
    }
    ~level_guard() { (void)cpu::set_cpu_level(saved_); }
    level_guard(const level_guard&) = delete;
    level_guard& operator=(const level_guard&) = delete;
    /// False when the processor lacks the level (the body should be skipped).
    bool active() const { return ok_; }

private:
    cpu::cpu_level saved_;
    bool ok_ = false;
};

/// Every level this processor runs, portable first.
inline std::vector<cpu::cpu_level> supported_levels() {
    std::vector<cpu::cpu_level> out;
    for (auto l : {cpu::cpu_level::portable, cpu::cpu_level::avx2, cpu::cpu_level::avx512}) {
        if (static_cast<int>(l) <= static_cast<int>(cpu::best_supported_level()))
            out.push_back(l);
        else
            MESSAGE("cpu level " << cpu::cpu_level_name(l) << " not supported here: skipped");
    }
    return out;
}

/// The portable level and AVX-512 where present: the levels with their own norm kernels
/// (an AVX2 request runs the portable ones there).
inline std::vector<cpu::cpu_level> vectorised_levels() {
    std::vector<cpu::cpu_level> out = {cpu::cpu_level::portable};
    if (cpu::best_supported_level() == cpu::cpu_level::avx512)
        out.push_back(cpu::cpu_level::avx512);
    return out;
}

}  // namespace actorlm::test

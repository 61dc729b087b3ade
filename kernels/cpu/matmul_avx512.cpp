// matmul_avx512: AVX-512 kernels (16 lanes, VNNI integer dots).
// Compiled with the avx512 flag set; selected only when the cpu level allows.
#include "cpu/simd.hpp"

#include "cpu/matmul_kernels.hpp"

namespace actorlm::cpu::detail {

rows_kernel avx512_kernel(dtype) { return nullptr; }

}  // namespace actorlm::cpu::detail

// simd: the one include of <immintrin.h> for the vector kernel files. g++ 12's
// AVX-512 intrinsics start from _mm512_undefined_*() and then trip
// -Wmaybe-uninitialized inside the system header (GCC bug 105593); the warning is
// silenced for those header lines only, so our own code keeps the diagnostic.
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

// dtype sizes must equal ggml's block layouts, or every quantized row is misread.
#include <doctest/doctest.h>

#include "base/dtype.hpp"

using namespace actorlm;

TEST_CASE("dtype row sizes follow ggml's block layouts") {
    CHECK(dtype_row_bytes(dtype::f32, 64) == 256);
    CHECK(dtype_row_bytes(dtype::f16, 64) == 128);
    CHECK(dtype_row_bytes(dtype::bf16, 64) == 128);
    CHECK(dtype_row_bytes(dtype::q8_0, 64) == 68);
    CHECK(dtype_row_bytes(dtype::q4_0, 64) == 36);
    CHECK(dtype_row_bytes(dtype::q4_k, 512) == 288);
    CHECK(dtype_row_bytes(dtype::q6_k, 256) == 210);
}

TEST_CASE("ggml type ids map to supported dtypes only") {
    CHECK(dtype_from_ggml(0) == dtype::f32);
    CHECK(dtype_from_ggml(30) == dtype::bf16);
    CHECK(dtype_from_ggml(8) == dtype::q8_0);
    CHECK_FALSE(dtype_from_ggml(3).has_value());  // Q4_1: not supported
    CHECK_FALSE(dtype_from_ggml(999).has_value());
}

// quantize_q8_0: fp32 values to ggml q8_0 blocks (an fp16 scale d = max|x| / 127 and
// 32 int8 q = round(x / d)), bit-exact with ggml's quantize_row_q8_0_ref, so a row
// quantized here reads back as llama.cpp would. Used for the q8_0 KV cache, whose
// rows are quantized once when written. Thread-safe, no state.
#pragma once

#include <cstdint>

#include "cpu/quant_blocks.hpp"

namespace actorlm::cpu {

/// Quantizes n floats (a multiple of 32; checked) from src into n / 32 blocks at dst.
void quantize_row_q8_0(const float* src, block_q8_0* dst, int64_t n);

}  // namespace actorlm::cpu

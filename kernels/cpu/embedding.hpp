// Token embedding lookup: copies (dequantizing when the table is F16/BF16/
// quantized) one row of the embedding table per token. Rows are independent;
// the caller may split tokens over threads.
#pragma once

#include <cstdint>

#include "base/tensor.hpp"

namespace actorlm::cpu {

/// out[t] = table[ids[t]] as floats for t < num_tokens; out is [num_tokens][table.cols()].
/// Ids must be in [0, table.rows()) (the executor validates them first).
void embed_tokens(const tensor& table, const int32_t* ids, int64_t num_tokens, float* out);

}  // namespace actorlm::cpu

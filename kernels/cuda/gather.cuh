// Row gathers: the token-embedding lookup at the start of a forward pass and the
// selection of the hidden rows whose logits were asked for. Host entry points;
// all pointers are device pointers, launches are asynchronous on `stream`.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "base/dtype.hpp"
#include "base/result.hpp"

namespace actorlm::cuda {

/// out[t, :] = float(table[token_ids[t], :]) for t < num_tokens. table is
/// {vocab, hidden} of f32/f16/bf16. Token ids must be validated in [0, vocab)
/// by the caller (the kernel clamps instead of reading out of bounds).
status embedding_gather(const int32_t* token_ids, int32_t num_tokens, const void* table,
                        dtype table_type, int64_t vocab, int64_t hidden, float* out,
                        cudaStream_t stream);

/// dst[i, :] = src[indices[i], :] for i < num_rows; rows of `cols` floats.
status gather_rows(const float* src, const int32_t* indices, int32_t num_rows, int64_t cols,
                   float* dst, cudaStream_t stream);

}  // namespace actorlm::cuda

// kv_cache_sizing: the bytes of one KV block (K and V for block_size tokens of
// every layer: 2 × layers × bytes of a kv_heads × head_dim row × block_size); the
// backends turn it and the usable memory (host_memory.hpp) into block counts with
// plan_kv_blocks (backends/backend.hpp). Pure functions; no state.
#pragma once

#include <cstdint>
#include <string>

#include "base/dtype.hpp"
#include "model/model_config.hpp"
#include "base/result.hpp"

namespace actorlm::core {

/// Bytes of one KV block for `cfg` with elements of `kv_dtype` (f32, f16, bf16 or q8_0;
/// a q8_0 row must be whole blocks of 32 values, as the backend's resolve_kv_dtype checks).
int64_t kv_block_bytes(const model_config& cfg, int32_t block_size, dtype kv_dtype);

}  // namespace actorlm::core

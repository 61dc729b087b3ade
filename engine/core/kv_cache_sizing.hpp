// kv_cache_sizing: how many KV blocks a memory budget buys. One block stores K
// and V for block_size tokens of every layer: 2 × layers × kv_heads × head_dim ×
// dtype bytes × block_size. The budget is bytes, or a fraction of the host's
// MemAvailable (/proc/meminfo). Pure functions; no state.
#pragma once

#include <cstdint>
#include <string>

#include "base/dtype.hpp"
#include "model/model_config.hpp"
#include "base/result.hpp"

namespace actorlm::core {

/// Bytes of one KV block for `cfg` with elements of `kv_dtype` (f32, f16 or bf16).
int64_t kv_block_bytes(const model_config& cfg, int32_t block_size, dtype kv_dtype);

/// Blocks that fit in `budget_bytes`; an error when not even one fits or the
/// model shape is unusable (zero layers or heads).
result<int32_t> kv_blocks_for_budget(const model_config& cfg, int32_t block_size, dtype kv_dtype,
                                     int64_t budget_bytes);

/// MemAvailable from a /proc/meminfo-formatted file, in bytes.
result<int64_t> read_mem_available_bytes(const std::string& meminfo_path = "/proc/meminfo");

/// Blocks that fit in `fraction` (0, 1] of MemAvailable.
result<int32_t> kv_blocks_for_free_memory(const model_config& cfg, int32_t block_size,
                                          dtype kv_dtype, double fraction,
                                          const std::string& meminfo_path = "/proc/meminfo");

}  // namespace actorlm::core

// kv_cache_sizing implementation.
#include "core/kv_cache_sizing.hpp"

namespace actorlm::core {

int64_t kv_block_bytes(const model_config& cfg, int32_t block_size, dtype kv_dtype) {
    // Per row, not per value: q8_0 stores 32 values in 34 bytes (dtype_row_bytes(q8_0, 1)
    // would be 0).
    const auto row =
        static_cast<int64_t>(dtype_row_bytes(kv_dtype, cfg.num_kv_heads * cfg.head_dim));
    return 2 * cfg.num_layers * row * block_size;
}

}  // namespace actorlm::core

// kv_cache_sizing implementation.
#include "core/kv_cache_sizing.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

namespace actorlm::core {

int64_t kv_block_bytes(const model_config& cfg, int32_t block_size, dtype kv_dtype) {
    const auto elem = static_cast<int64_t>(dtype_row_bytes(kv_dtype, 1));
    return 2 * cfg.num_layers * cfg.num_kv_heads * cfg.head_dim * elem * block_size;
}

result<int32_t> kv_blocks_for_budget(const model_config& cfg, int32_t block_size, dtype kv_dtype,
                                     int64_t budget_bytes) {
    if (cfg.num_layers <= 0 || cfg.num_kv_heads <= 0 || cfg.head_dim <= 0)
        return make_error("kv cache sizing: model has %lld layers, %lld kv heads, head_dim %lld",
                          static_cast<long long>(cfg.num_layers),
                          static_cast<long long>(cfg.num_kv_heads),
                          static_cast<long long>(cfg.head_dim));
    if (block_size <= 0)
        return make_error("kv cache sizing: block_size %d must be positive", block_size);
    if (kv_dtype != dtype::f32 && kv_dtype != dtype::f16 && kv_dtype != dtype::bf16)
        return make_error("kv cache sizing: kv cache dtype %s is not f32, f16 or bf16",
                          dtype_name(kv_dtype));
    const int64_t per_block = kv_block_bytes(cfg, block_size, kv_dtype);
    const int64_t n = budget_bytes / per_block;
    if (n < 1)
        return make_error(
            "kv cache budget of %lld bytes holds no block (one block needs %lld bytes)",
            static_cast<long long>(budget_bytes), static_cast<long long>(per_block));
    return static_cast<int32_t>(std::min<int64_t>(n, std::numeric_limits<int32_t>::max()));
}

result<int64_t> read_mem_available_bytes(const std::string& meminfo_path) {
    std::FILE* f = std::fopen(meminfo_path.c_str(), "r");
    if (!f) return make_error("cannot open %s: %s", meminfo_path.c_str(), std::strerror(errno));
    char line[256];
    long long kib = -1;
    while (std::fgets(line, sizeof(line), f)) {
        if (std::sscanf(line, "MemAvailable: %lld kB", &kib) == 1) break;
        kib = -1;
    }
    std::fclose(f);
    if (kib < 0) return make_error("%s has no 'MemAvailable: N kB' line", meminfo_path.c_str());
    return static_cast<int64_t>(kib) * 1024;
}

result<int32_t> kv_blocks_for_free_memory(const model_config& cfg, int32_t block_size,
                                          dtype kv_dtype, double fraction,
                                          const std::string& meminfo_path) {
    if (!(fraction > 0.0 && fraction <= 1.0))
        return make_error("kv cache memory fraction %g is not in (0, 1]", fraction);
    auto avail = read_mem_available_bytes(meminfo_path);
    if (!avail) return avail.err();
    return kv_blocks_for_budget(cfg, block_size, kv_dtype,
                                static_cast<int64_t>(static_cast<double>(*avail) * fraction));
}

}  // namespace actorlm::core

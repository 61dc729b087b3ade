// kv_cache_sizing implementation.
#include "core/kv_cache_sizing.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace actorlm::core {

int64_t kv_block_bytes(const model_config& cfg, int32_t block_size, dtype kv_dtype) {
    // Per row, not per value: q8_0 stores 32 values in 34 bytes (dtype_row_bytes(q8_0, 1)
    // would be 0).
    const auto row =
        static_cast<int64_t>(dtype_row_bytes(kv_dtype, cfg.num_kv_heads * cfg.head_dim));
    return 2 * cfg.num_layers * row * block_size;
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

}  // namespace actorlm::core

// content_digest implementation.
#include "model/content_digest.hpp"

#include <algorithm>
#include <cstdio>

#include <xxhash.h>

namespace actorlm {

content_digest::content_digest() : state_(XXH3_createState()) { XXH3_128bits_reset(state_); }

content_digest::~content_digest() { XXH3_freeState(state_); }

void content_digest::bytes(const void* p, size_t n) {
    const uint64_t len = n;
    XXH3_128bits_update(state_, &len, sizeof len);
    if (n > 0) XXH3_128bits_update(state_, p, n);
}

void content_digest::tensor_sample(const tensor& t) {
    str(t.name);
    i64(static_cast<int64_t>(t.type));
    i64(static_cast<int64_t>(t.shape.size()));
    for (int64_t x : t.shape) i64(x);
    if (!t.present()) return;
    const auto* p = static_cast<const uint8_t*>(t.data);
    constexpr size_t k_sample = 4096;
    const size_t n = t.num_bytes;
    const size_t take = std::min(n, k_sample);
    bytes(p, take);
    if (n > take) bytes(p + (n - take) / 2, take);
    if (n > take) bytes(p + n - take, take);
}

std::string content_digest::hex() const {
    const XXH128_hash_t h = XXH3_128bits_digest(state_);
    char out[33];
    std::snprintf(out, sizeof out, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return out;
}

}  // namespace actorlm

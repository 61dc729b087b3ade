// content_digest: an XXH3-128 digest over length-prefixed fields, so no two field lists
// concatenate to the same stream. The one hasher behind the identities that key caches
// across requests and engines: weights fingerprints, tokenizer fingerprints, mm_hash.
// One object per digest; not shared between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/tensor.hpp"

struct XXH3_state_s;

namespace actorlm {

class content_digest {
public:
    content_digest();
    ~content_digest();
    content_digest(const content_digest&) = delete;
    content_digest& operator=(const content_digest&) = delete;

    /// One field: its length (u64), then its bytes.
    void bytes(const void* p, size_t n);
    void str(std::string_view s) { bytes(s.data(), s.size()); }
    void i64(int64_t v) { bytes(&v, sizeof v); }
    void f64(double v) { bytes(&v, sizeof v); }
    /// A tensor's name, dtype and shape plus up to 4 KiB of its bytes at the start, middle
    /// and end: ~12 KiB read per tensor whatever its size, and a fine-tune or a
    /// requantization still changes it.
    void tensor_sample(const tensor& t);
    /// Float vectors (norms, biases) are small: all of their bytes.
    void floats(const float* p, size_t n) { bytes(p, n * sizeof(float)); }

    /// 32 lower-case hex digits, high 64 bits first.
    std::string hex() const;

private:
    XXH3_state_s* state_;
};

}  // namespace actorlm

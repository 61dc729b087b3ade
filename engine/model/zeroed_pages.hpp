// zeroed_pages: a large zero-filled buffer whose pages the kernel supplies on first touch
// (a private anonymous mapping), so that a KV pool of many GiB costs neither start-up time
// nor resident memory until its blocks are written; transparent huge pages are asked for
// where the kernel offers them (fewer TLB misses on the pool). Move-only; the owner
// decides which threads touch which bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.hpp"

namespace actorlm {

class zeroed_pages {
public:
    /// Reserves `bytes` (> 0) of address space reading as zeros. Fails, naming the size
    /// and the OS error, when the mapping is refused.
    static result<zeroed_pages> allocate(size_t bytes);

    zeroed_pages() = default;
    zeroed_pages(zeroed_pages&& other) noexcept;
    zeroed_pages& operator=(zeroed_pages&& other) noexcept;
    zeroed_pages(const zeroed_pages&) = delete;
    zeroed_pages& operator=(const zeroed_pages&) = delete;
    ~zeroed_pages();

    uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    /// Bytes of the buffer in memory now (pages touched so far), from mincore(2).
    size_t resident_bytes() const;

private:
    zeroed_pages(uint8_t* data, size_t size) : data_(data), size_(size) {}
    void release();

    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace actorlm

// zeroed_pages implementation: mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE). The kernel
// maps the shared zero page until a page is written, so reading never-written slots (a
// bug elsewhere) still yields zeros, as the old memset pool did.
#include "model/zeroed_pages.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "model/resident_pages.hpp"

namespace actorlm {

result<zeroed_pages> zeroed_pages::allocate(size_t bytes) {
    if (bytes == 0) return make_error("cannot reserve an empty buffer");
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return make_error("cannot reserve %zu bytes: %s", bytes, std::strerror(errno));
#ifdef MADV_HUGEPAGE
    // Advice only: kernels without transparent huge pages ignore it.
    (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return zeroed_pages(static_cast<uint8_t*>(p), bytes);
}

zeroed_pages::zeroed_pages(zeroed_pages&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

zeroed_pages& zeroed_pages::operator=(zeroed_pages&& other) noexcept {
    if (this != &other) {
        release();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

zeroed_pages::~zeroed_pages() { release(); }

void zeroed_pages::release() {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
}

size_t zeroed_pages::resident_bytes() const { return actorlm::resident_bytes(data_, size_); }

}  // namespace actorlm

// resident_pages implementation.
#include "model/resident_pages.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace actorlm {

namespace {

size_t page_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// The whole pages inside [data, data + bytes): {first, length}, length 0 when none.
std::pair<uintptr_t, size_t> whole_pages(const void* data, size_t bytes) {
    const uintptr_t page = page_size();
    const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
    const uintptr_t first = (begin + page - 1) / page * page;
    const uintptr_t end = (begin + bytes) / page * page;
    return end > first ? std::pair{first, static_cast<size_t>(end - first)}
                       : std::pair{first, size_t{0}};
}

}  // namespace

size_t resident_bytes(const void* data, size_t bytes) {
    const auto [first, length] = whole_pages(data, bytes);
    if (length == 0) return 0;
    const size_t page = page_size();
    std::vector<unsigned char> in_core(length / page);
    if (mincore(reinterpret_cast<void*>(first), length, in_core.data()) != 0) return 0;
    size_t resident = 0;
    for (unsigned char c : in_core) resident += (c & 1u) ? page : 0;
    return resident;
}

void page_out(const void* data, size_t bytes) {
#ifdef MADV_PAGEOUT
    const auto [first, length] = whole_pages(data, bytes);
    // Advice: a kernel before 5.4 refuses it, and the pages simply stay.
    if (length > 0) (void)madvise(reinterpret_cast<void*>(first), length, MADV_PAGEOUT);
#else
    (void)data, (void)bytes;
#endif
}

}  // namespace actorlm

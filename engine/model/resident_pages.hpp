// resident_pages: what of a memory range is in RAM, and giving it back. Used for the
// weights a backend copied into another layout (the mapped bytes then sit unused beside
// the copy) and for the KV pool's reserved-versus-resident figure. Stateless; any thread.
#pragma once

#include <cstddef>

namespace actorlm {

/// Bytes of the whole pages inside [data, data + bytes) that are in memory (mincore(2)).
size_t resident_bytes(const void* data, size_t bytes);

/// Asks the kernel to reclaim the whole pages inside [data, data + bytes) (MADV_PAGEOUT).
/// Never changes what the memory holds: a file-backed page is read again on its next use,
/// an anonymous one is swapped out or kept. Partial pages at the ends are left alone.
void page_out(const void* data, size_t bytes);

}  // namespace actorlm

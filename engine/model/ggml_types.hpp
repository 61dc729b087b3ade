// Sizes and names of every ggml tensor type id, including the ones we cannot
// run, so that a GGUF reader can validate any file's tensor extents and a
// loader can name an unsupported type ("Q5_K") instead of a number.
// Pure constant data; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace actorlm {

/// Block layout of one ggml type.
struct ggml_type_info {
    const char* name;     // ggml's name, e.g. "Q4_K"
    int64_t block_elems;  // elements per block (1 for plain types)
    size_t block_bytes;   // bytes per block
};

/// Layout of ggml type `id`; nullptr for ids ggml does not define (or removed).
const ggml_type_info* ggml_type_lookup(uint32_t id);

/// ggml's name for `id`, or "unknown" when undefined.
const char* ggml_type_name(uint32_t id);

}  // namespace actorlm

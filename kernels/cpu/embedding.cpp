// Embedding rows through the shared row dequantizer, so every weight type the
// matmul accepts also works as an embedding table (tied lm_head included).
#include "cpu/embedding.hpp"

#include <cstring>

#include "cpu/dequantize.hpp"

namespace actorlm::cpu {

void embed_tokens(const tensor& table, const int32_t* ids, int64_t num_tokens, float* out) {
    const int64_t cols = table.cols();
    const size_t row_bytes = dtype_row_bytes(table.type, cols);
    const auto* base = static_cast<const uint8_t*>(table.data);
    for (int64_t t = 0; t < num_tokens; ++t) {
        const uint8_t* row = base + static_cast<size_t>(ids[t]) * row_bytes;
        float* dst = out + t * cols;
        if (table.type == dtype::f32) {
            std::memcpy(dst, row, row_bytes);
        } else {
            dequantize_row(table.type, row, dst, cols);
        }
    }
}

}  // namespace actorlm::cpu

// Names and ggml-id mapping for dtype.
#include "base/dtype.hpp"

namespace actorlm {

const char* dtype_name(dtype t) {
    switch (t) {
        case dtype::f32: return "F32";
        case dtype::f16: return "F16";
        case dtype::bf16: return "BF16";
        case dtype::q4_0: return "Q4_0";
        case dtype::q5_0: return "Q5_0";
        case dtype::q8_0: return "Q8_0";
        case dtype::q4_k: return "Q4_K";
        case dtype::q6_k: return "Q6_K";
    }
    return "?";
}

std::optional<dtype> dtype_from_ggml(uint32_t ggml_type) {
    switch (ggml_type) {
        case 0: return dtype::f32;
        case 1: return dtype::f16;
        case 2: return dtype::q4_0;
        case 6: return dtype::q5_0;
        case 8: return dtype::q8_0;
        case 12: return dtype::q4_k;
        case 14: return dtype::q6_k;
        case 30: return dtype::bf16;
        default: return std::nullopt;
    }
}

}  // namespace actorlm

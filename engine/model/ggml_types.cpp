// The table mirrors ggml's type_traits (block structs in ggml-common.h); ids 4
// and 5 (Q4_2/Q4_3) and 31..33 (removed packed Q4_0 variants) are undefined.
// Constant data; any thread.
#include "model/ggml_types.hpp"

#include <array>

namespace actorlm {

namespace {

constexpr ggml_type_info k_undefined{nullptr, 0, 0};

constexpr std::array<ggml_type_info, 36> k_types = {{
    {"F32", 1, 4},         // 0
    {"F16", 1, 2},         // 1
    {"Q4_0", 32, 18},      // 2
    {"Q4_1", 32, 20},      // 3
    k_undefined,           // 4
    k_undefined,           // 5
    {"Q5_0", 32, 22},      // 6
    {"Q5_1", 32, 24},      // 7
    {"Q8_0", 32, 34},      // 8
    {"Q8_1", 32, 36},      // 9
    {"Q2_K", 256, 84},     // 10
    {"Q3_K", 256, 110},    // 11
    {"Q4_K", 256, 144},    // 12
    {"Q5_K", 256, 176},    // 13
    {"Q6_K", 256, 210},    // 14
    {"Q8_K", 256, 292},    // 15
    {"IQ2_XXS", 256, 66},  // 16
    {"IQ2_XS", 256, 74},   // 17
    {"IQ3_XXS", 256, 98},  // 18
    {"IQ1_S", 256, 50},    // 19
    {"IQ4_NL", 32, 18},    // 20
    {"IQ3_S", 256, 110},   // 21
    {"IQ2_S", 256, 82},    // 22
    {"IQ4_XS", 256, 136},  // 23
    {"I8", 1, 1},          // 24
    {"I16", 1, 2},         // 25
    {"I32", 1, 4},         // 26
    {"I64", 1, 8},         // 27
    {"F64", 1, 8},         // 28
    {"IQ1_M", 256, 56},    // 29
    {"BF16", 1, 2},        // 30
    k_undefined,           // 31
    k_undefined,           // 32
    k_undefined,           // 33
    {"TQ1_0", 256, 54},    // 34
    {"TQ2_0", 256, 66},    // 35
}};

}  // namespace

const ggml_type_info* ggml_type_lookup(uint32_t id) {
    if (id >= k_types.size() || k_types[id].name == nullptr) return nullptr;
    return &k_types[id];
}

const char* ggml_type_name(uint32_t id) {
    const ggml_type_info* t = ggml_type_lookup(id);
    return t ? t->name : "unknown";
}

}  // namespace actorlm

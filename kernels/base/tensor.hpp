// tensor: a typed, shaped view of bytes someone else owns (a memory-mapped file,
// a converted buffer). The one currency between loaders, backends and kernels:
// kernels read tensors without knowing which model they belong to. Plain data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/dtype.hpp"

namespace actorlm {

/// How a matrix's bytes are arranged: ggml's rows of blocks (as in the file), or
/// a backend's repacked form that only its matmul reads (cpu/weight_panels.hpp).
enum class weight_layout : uint8_t { rows, panels };

struct tensor {
    std::string name;
    dtype type = dtype::f32;
    std::vector<int64_t> shape;  // outermost first; empty when the tensor is absent
    const void* data = nullptr;
    size_t num_bytes = 0;
    weight_layout layout = weight_layout::rows;

    bool present() const { return data != nullptr; }
    int64_t rows() const { return shape.size() < 2 ? 1 : shape[0]; }
    int64_t cols() const { return shape.empty() ? 0 : shape.back(); }
    int64_t num_elements() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return shape.empty() ? 0 : n;
    }
};

}  // namespace actorlm

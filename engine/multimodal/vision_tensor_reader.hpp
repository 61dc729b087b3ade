// vision_tensor_reader: the typed lookups both vision-tower loaders (HF safetensors and
// llama.cpp mmproj GGUF) build on. A loader supplies matrix() — one checked tensor by
// name and expected shape — and gets vectors (converted to f32), norms and linears on
// top, so every error names the tensor and the shape it should have. Read-only; any
// thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/tensor.hpp"
#include "multimodal/vision_weights.hpp"

namespace actorlm::multimodal {

/// "[a, b, c]", for error messages.
std::string dims_text(const std::vector<int64_t>& shape);

class vision_tensor_reader {
public:
    virtual ~vision_tensor_reader() = default;

    /// Tensor `name` with exactly `shape`, in F32, F16 or BF16 (a view, not a copy).
    virtual result<tensor> matrix(const std::string& name,
                                  const std::vector<int64_t>& shape) const = 0;

    /// Tensor `name` with `shape`, converted to f32.
    result<std::vector<float>> vector(const std::string& name,
                                      const std::vector<int64_t>& shape) const;
    /// `prefix`.weight and `prefix`.bias, both of `n`.
    status norm(const std::string& prefix, int64_t n, vision_norm& out) const;
    /// `prefix`.weight {rows, cols} and, if `bias`, `prefix`.bias {rows}.
    status linear(const std::string& prefix, int64_t rows, int64_t cols, bool bias,
                  vision_linear& out) const;
};

}  // namespace actorlm::multimodal

// vision_tensor_reader: the lookups built on a loader's matrix().
#include "multimodal/vision_tensor_reader.hpp"

#include "model/tensor_codec.hpp"

namespace actorlm::multimodal {

std::string dims_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

result<std::vector<float>> vision_tensor_reader::vector(const std::string& name,
                                                        const std::vector<int64_t>& shape) const {
    auto t = matrix(name, shape);
    if (!t) return t.err();
    return tensor_to_f32(*t);
}

status vision_tensor_reader::norm(const std::string& prefix, int64_t n, vision_norm& out) const {
    auto w = vector(prefix + ".weight", {n});
    if (!w) return w.err();
    auto b = vector(prefix + ".bias", {n});
    if (!b) return b.err();
    out.weight = std::move(*w);
    out.bias = std::move(*b);
    return status::success();
}

status vision_tensor_reader::linear(const std::string& prefix, int64_t rows, int64_t cols,
                                    bool bias, vision_linear& out) const {
    auto w = matrix(prefix + ".weight", {rows, cols});
    if (!w) return w.err();
    out.weight = std::move(*w);
    if (!bias) return status::success();
    auto b = vector(prefix + ".bias", {rows});
    if (!b) return b.err();
    out.bias = std::move(*b);
    return status::success();
}

}  // namespace actorlm::multimodal

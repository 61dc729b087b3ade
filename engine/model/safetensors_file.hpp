// safetensors_file: a validated, read-only view of one .safetensors file over a
// memory map: u64 header length, a JSON header {name: {dtype, shape,
// data_offsets}}, then the raw little-endian tensor data. All offsets and
// sizes are checked at open. Immutable after open(); safe to share across threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/mapped_file.hpp"
#include "base/result.hpp"

namespace actorlm {

/// One tensor of a safetensors file; `data` points into the mapping.
struct safetensors_tensor_info {
    std::string name;
    std::string dtype;           // safetensors' name: "F32", "F16", "BF16", "I64", ...
    std::vector<int64_t> shape;  // outermost first
    const uint8_t* data = nullptr;
    size_t num_bytes = 0;
};

class safetensors_file {
public:
    /// Largest JSON header we accept (the safetensors format's own limit is 100 MB).
    static constexpr uint64_t k_max_header_bytes = 100ull << 20;

    /// Maps and validates `path`: header length within the file and the limit, valid JSON,
    /// known dtypes, data_offsets inside the data section and matching dtype x shape.
    static result<std::shared_ptr<safetensors_file>> open(const std::string& path);
    /// Validates bytes already in memory (mapped_file::from_bytes), with the same checks
    /// and errors as open(); the fuzz target's entry point.
    static result<std::shared_ptr<safetensors_file>> from_mapping(std::shared_ptr<mapped_file> map);

    const std::string& path() const { return map_->path(); }
    const std::shared_ptr<mapped_file>& mapping() const { return map_; }
    /// Tensors sorted by data offset.
    const std::vector<safetensors_tensor_info>& tensors() const { return tensors_; }
    /// The tensor called `name`; nullptr when absent.
    const safetensors_tensor_info* find_tensor(std::string_view name) const;
    /// The "__metadata__" string map (empty when absent).
    const std::unordered_map<std::string, std::string>& metadata() const { return metadata_; }

    /// Bytes per element of a safetensors dtype name; 0 when the name is unknown.
    static size_t dtype_bytes(std::string_view dtype);

private:
    explicit safetensors_file(std::shared_ptr<mapped_file> map) : map_(std::move(map)) {}
    status parse();

    std::shared_ptr<mapped_file> map_;
    std::vector<safetensors_tensor_info> tensors_;
    std::unordered_map<std::string, size_t> index_;
    std::unordered_map<std::string, std::string> metadata_;
};

}  // namespace actorlm

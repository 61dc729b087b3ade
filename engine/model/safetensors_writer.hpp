// safetensors_writer: builds a .safetensors file (JSON header padded to 8
// bytes, then tensors back to back in insertion order). Used by the test-model
// generator and by tests. Single-threaded; not shared.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace actorlm {

class safetensors_writer {
public:
    /// Adds a tensor; `dtype` is a safetensors name ("F32", "F16", "BF16"); `bytes` must hold
    /// exactly shape x dtype size little-endian values (a mismatch is a programming error).
    void add_tensor(const std::string& name, const std::string& dtype, std::vector<int64_t> shape,
                    std::vector<uint8_t> bytes);
    /// Adds a "__metadata__" entry (e.g. {"format", "pt"}).
    void add_metadata(const std::string& key, const std::string& value);

    /// The whole file as bytes (tests corrupt these).
    std::vector<uint8_t> serialize() const;
    /// Writes the file; an error names the path and the OS error.
    status write(const std::string& path) const;

private:
    struct pending_tensor {
        std::string name, dtype;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;
    };
    std::vector<uint8_t> header() const;

    std::vector<pending_tensor> tensors_;
    std::vector<std::pair<std::string, std::string>> metadata_;
};

}  // namespace actorlm

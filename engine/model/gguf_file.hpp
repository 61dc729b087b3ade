// gguf_file: a validated, read-only view of a GGUF v2/v3 file (metadata
// key/values and tensor infos) over a memory map. Every count, length and
// offset is checked against the file size while opening, so the accessors
// never read out of bounds. Immutable after open(); safe to share across threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/mapped_file.hpp"
#include "base/result.hpp"

namespace actorlm {

/// GGUF metadata value types (values as in the GGUF specification).
enum class gguf_type : uint32_t {
    uint8 = 0,
    int8 = 1,
    uint16 = 2,
    int16 = 3,
    uint32 = 4,
    int32 = 5,
    float32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    uint64 = 10,
    int64 = 11,
    float64 = 12,
};

/// GGUF's name for a value type ("uint32", "array", ...).
const char* gguf_type_name(gguf_type t);

/// One tensor of the file. `data` points into the mapping, which lives as long as the gguf_file.
struct gguf_tensor_info {
    std::string name;
    uint32_t ggml_type = 0;      // ggml type id (see ggml_types.hpp, dtype.hpp)
    std::vector<int64_t> shape;  // outermost first (ggml's ne reversed): {rows, cols}
    const uint8_t* data = nullptr;
    size_t num_bytes = 0;
    uint64_t offset = 0;  // relative to the start of the tensor data section

    int64_t num_elements() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
};

class gguf_file {
public:
    /// Maps and validates `path`. Errors name the file and the problem: bad magic,
    /// unsupported version, truncation, an out-of-range offset, an absurd count or length,
    /// an unknown value or tensor type, duplicate keys or tensor names.
    static result<std::shared_ptr<gguf_file>> open(const std::string& path);
    /// Validates bytes already in memory (mapped_file::from_bytes), with the same checks
    /// and errors as open(); the fuzz target's entry point.
    static result<std::shared_ptr<gguf_file>> from_mapping(std::shared_ptr<mapped_file> map);

    /// GGUF format version (2 or 3).
    uint32_t version() const { return version_; }
    const std::string& path() const { return map_->path(); }
    /// The mapping that tensor data points into (shared so weight views can keep it alive).
    const std::shared_ptr<mapped_file>& mapping() const { return map_; }
    /// Alignment of tensor data (general.alignment, default 32).
    size_t alignment() const { return alignment_; }

    /// Metadata keys in file order.
    const std::vector<std::string>& keys() const { return key_order_; }
    bool has(std::string_view key) const { return find_kv(key) != nullptr; }
    /// Value type of `key`; nullopt when absent.
    std::optional<gguf_type> type_of(std::string_view key) const;
    /// Element type and length of array `key`; nullopt when absent or not an array.
    std::optional<std::pair<gguf_type, uint64_t>> array_info(std::string_view key) const;

    /// String value; nullopt when absent or of another type.
    std::optional<std::string> get_string(std::string_view key) const;
    /// Any integer type (and bool); nullopt when absent, not an integer, or a uint64 above
    /// INT64_MAX.
    std::optional<int64_t> get_int(std::string_view key) const;
    /// float32/float64 (integers convert too); nullopt when absent or not numeric.
    std::optional<double> get_float(std::string_view key) const;
    /// bool value; nullopt when absent or of another type.
    std::optional<bool> get_bool(std::string_view key) const;

    /// Array of strings (tokenizer.ggml.tokens / merges); empty when absent or of another type.
    std::vector<std::string> get_string_array(std::string_view key) const;
    /// Array of floats (float32/float64; integers convert); empty when absent or not numeric.
    std::vector<float> get_float_array(std::string_view key) const;
    /// Array of integers that fit int32 (tokenizer.ggml.token_type); empty when absent, not an
    /// integer array, or when an element does not fit int32.
    std::vector<int32_t> get_int_array(std::string_view key) const;

    /// Tensors in file order.
    const std::vector<gguf_tensor_info>& tensors() const { return tensors_; }
    /// The tensor called `name`; nullptr when absent.
    const gguf_tensor_info* find_tensor(std::string_view name) const;

private:
    struct kv_entry {
        gguf_type type = gguf_type::uint8;
        gguf_type elem_type = gguf_type::uint8;  // arrays only
        uint64_t count = 0;                      // arrays only
        size_t value_offset = 0;                 // file offset of the value (array: first element)
    };
    class parser;

    explicit gguf_file(std::shared_ptr<mapped_file> map) : map_(std::move(map)) {}
    const kv_entry* find_kv(std::string_view key) const;
    std::optional<double> scalar_number(gguf_type t, size_t offset) const;
    std::optional<int64_t> scalar_int(gguf_type t, size_t offset) const;
    std::string_view string_at(size_t offset, size_t* next) const;

    std::shared_ptr<mapped_file> map_;
    uint32_t version_ = 0;
    size_t alignment_ = 32;
    std::vector<std::string> key_order_;
    std::unordered_map<std::string, kv_entry> kvs_;
    std::vector<gguf_tensor_info> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace actorlm

// gguf_writer: builds a GGUF v3 file (metadata + tensors) in memory and writes
// it out. Used by the test-model generator and by tests that need small or
// deliberately corrupted files. Single-threaded; not shared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/gguf_file.hpp"
#include "base/result.hpp"

namespace actorlm {

class gguf_writer {
public:
    /// Metadata setters. Keys keep their first insertion order; setting a key again
    /// replaces its value.
    void set_u32(const std::string& key, uint32_t v);
    void set_i32(const std::string& key, int32_t v);
    void set_u64(const std::string& key, uint64_t v);
    void set_f32(const std::string& key, float v);
    void set_bool(const std::string& key, bool v);
    void set_string(const std::string& key, const std::string& v);
    void set_string_array(const std::string& key, const std::vector<std::string>& v);
    void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
    void set_f32_array(const std::string& key, const std::vector<float>& v);
    /// Sets `as` (empty: `key`) to the value of `key` in `src` (any scalar or array type;
    /// floats as F32, integers as U32 when they fit, else I32). Nothing when `src` lacks it.
    void copy_key(const gguf_file& src, const std::string& key, std::string as = {});

    /// Adds a tensor. `shape` is outermost first ({rows, cols}); `bytes` must hold exactly
    /// the ggml-encoded data of that shape and type (checked: a mismatch is a programming error).
    void add_tensor(const std::string& name, uint32_t ggml_type, std::vector<int64_t> shape,
                    std::vector<uint8_t> bytes);

    /// The whole file as bytes (small files; tests corrupt these).
    std::vector<uint8_t> serialize() const;
    /// Writes the file to `path`; an error names the path and the OS error.
    status write(const std::string& path) const;

    /// Tensor data alignment (general.alignment is written when it differs from 32).
    void set_alignment(uint32_t a) { alignment_ = a; }

private:
    struct kv {
        std::string key;
        gguf_type type;
        std::vector<uint8_t> payload;  // encoded value (array: elem type + count + elements)
    };
    struct pending_tensor {
        std::string name;
        uint32_t ggml_type;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;
    };
    void put(const std::string& key, gguf_type type, std::vector<uint8_t> payload);
    std::vector<uint8_t> header() const;

    std::vector<kv> kvs_;
    std::vector<pending_tensor> tensors_;
    uint32_t alignment_ = 32;
};

}  // namespace actorlm

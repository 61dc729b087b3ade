// mapped_file: a read-only, whole-file memory map (POSIX mmap, MAP_PRIVATE), or a
// copy of a file's bytes already in memory (from_bytes: the fuzz targets and tests
// parse without a file). Immutable after open, so any thread may read it; the
// bytes live as long as the last shared_ptr. Weight views (model_weights) point into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace actorlm {

class mapped_file {
public:
    /// Maps `path` read-only. Fails (naming the path and the OS error) when the
    /// file cannot be opened, is not a regular file, is empty or cannot be mapped.
    static result<std::shared_ptr<mapped_file>> open(const std::string& path);

    /// A copy of `bytes` standing in for the file `name` (the name errors quote). Unlike
    /// open(), an empty buffer is allowed: the parsers report it as truncated.
    static std::shared_ptr<mapped_file> from_bytes(std::string name, std::string_view bytes);

    ~mapped_file();
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;

    /// First byte of the file; valid for size() bytes while this object lives.
    const uint8_t* data() const { return data_; }
    /// File size in bytes (> 0 for a mapped file).
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    mapped_file(std::string path, const uint8_t* data, size_t size)
        : path_(std::move(path)), data_(data), size_(size) {}

    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    // from_bytes: the copy data_ points into (exactly size_ bytes, so a sanitizer sees
    // any read past the end); null for a real mapping.
    std::unique_ptr<uint8_t[]> owned_;
};

}  // namespace actorlm

// safetensors serialization. The header is padded with spaces so the data
// section starts 8-byte aligned, as the reference implementation does.
// Single-threaded; tensor bytes are owned by the writer until write() returns.
#include "model/safetensors_writer.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "model/safetensors_file.hpp"
#include "base/check.hpp"
#include "base/json_string.hpp"

namespace actorlm {

void safetensors_writer::add_tensor(const std::string& name, const std::string& dtype,
                                    std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
    size_t expect = safetensors_file::dtype_bytes(dtype);
    ACTORLM_CHECK(expect != 0, "safetensors_writer: unknown dtype %s", dtype.c_str());
    for (int64_t d : shape) expect *= static_cast<size_t>(d);
    ACTORLM_CHECK(bytes.size() == expect, "safetensors_writer: tensor %s has %zu bytes, want %zu",
                  name.c_str(), bytes.size(), expect);
    tensors_.push_back({name, dtype, std::move(shape), std::move(bytes)});
}

void safetensors_writer::add_metadata(const std::string& key, const std::string& value) {
    metadata_.emplace_back(key, value);
}

std::vector<uint8_t> safetensors_writer::header() const {
    std::string json = "{";
    bool first = true;
    if (!metadata_.empty()) {
        json += "\"__metadata__\":{";
        for (size_t i = 0; i < metadata_.size(); ++i) {
            if (i) json += ",";
            json += json_quoted(metadata_[i].first) + ":" + json_quoted(metadata_[i].second);
        }
        json += "}";
        first = false;
    }
    size_t offset = 0;
    for (const pending_tensor& t : tensors_) {
        if (!first) json += ",";
        first = false;
        json += json_quoted(t.name) + ":{\"dtype\":" + json_quoted(t.dtype) + ",\"shape\":[";
        for (size_t d = 0; d < t.shape.size(); ++d) {
            if (d) json += ",";
            json += std::to_string(t.shape[d]);
        }
        json += "],\"data_offsets\":[" + std::to_string(offset) + "," +
                std::to_string(offset + t.bytes.size()) + "]}";
        offset += t.bytes.size();
    }
    json += "}";
    while (json.size() % 8 != 0) json += ' ';
    std::vector<uint8_t> out(8 + json.size());
    uint64_t len = json.size();
    std::memcpy(out.data(), &len, 8);
    std::memcpy(out.data() + 8, json.data(), json.size());
    return out;
}

std::vector<uint8_t> safetensors_writer::serialize() const {
    std::vector<uint8_t> out = header();
    for (const pending_tensor& t : tensors_) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    return out;
}

status safetensors_writer::write(const std::string& path) const {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return make_error("cannot create %s: %s", path.c_str(), std::strerror(errno));
    std::vector<uint8_t> head = header();
    bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size();
    for (const pending_tensor& t : tensors_)
        if (ok) ok = std::fwrite(t.bytes.data(), 1, t.bytes.size(), f) == t.bytes.size();
    int e = errno;
    if (std::fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) return make_error("cannot write %s: %s", path.c_str(), std::strerror(e));
    return status::success();
}

}  // namespace actorlm

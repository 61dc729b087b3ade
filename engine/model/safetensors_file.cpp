// safetensors parsing with simdjson's DOM (headers are small). Errors name the
// file and the tensor; offsets are checked with overflow-safe arithmetic.
// Runs on the opening thread; the result is immutable.
#include "model/safetensors_file.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include <simdjson.h>

namespace actorlm {

size_t safetensors_file::dtype_bytes(std::string_view d) {
    if (d == "F64" || d == "I64" || d == "U64") return 8;
    if (d == "F32" || d == "I32" || d == "U32") return 4;
    if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
    if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
    return 0;
}

result<std::shared_ptr<safetensors_file>> safetensors_file::open(const std::string& path) {
    auto map = mapped_file::open(path);
    if (!map) return map.err();
    return from_mapping(std::move(*map));
}

result<std::shared_ptr<safetensors_file>> safetensors_file::from_mapping(
    std::shared_ptr<mapped_file> map) {
    std::shared_ptr<safetensors_file> f(new safetensors_file(std::move(map)));
    if (status s = f->parse(); !s) return error{f->path() + ": " + s.message()};
    return f;
}

status safetensors_file::parse() {
    const uint8_t* base = map_->data();
    const size_t size = map_->size();
    if (size < 8)
        return make_error("truncated safetensors file (%zu bytes, no header length)", size);
    uint64_t header_len = 0;
    std::memcpy(&header_len, base, 8);
    if (header_len > k_max_header_bytes)
        return make_error("corrupt safetensors header length %llu (limit %llu bytes)",
                          static_cast<unsigned long long>(header_len),
                          static_cast<unsigned long long>(k_max_header_bytes));
    if (header_len > size - 8)
        return make_error("truncated safetensors file: header needs %llu bytes but %zu remain",
                          static_cast<unsigned long long>(header_len), size - 8);
    const uint8_t* data = base + 8 + header_len;
    const size_t data_bytes = size - 8 - static_cast<size_t>(header_len);

    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (auto e = parser.parse(reinterpret_cast<const char*>(base + 8), header_len, true).get(doc))
        return make_error("safetensors header is not valid JSON: %s", simdjson::error_message(e));
    simdjson::dom::object root;
    if (doc.get(root)) return make_error("safetensors header is not a JSON object");

    for (auto field : root) {
        std::string name(field.key);
        if (name == "__metadata__") {
            simdjson::dom::object meta;
            if (field.value.get(meta)) return make_error("__metadata__ is not an object");
            for (auto m : meta) {
                std::string_view v;
                if (m.value.get(v)) return make_error("__metadata__ values must be strings");
                metadata_.emplace(std::string(m.key), std::string(v));
            }
            continue;
        }
        simdjson::dom::object obj;
        std::string_view dtype;
        simdjson::dom::array shape, offsets;
        if (field.value.get(obj) || obj["dtype"].get(dtype) || obj["shape"].get(shape) ||
            obj["data_offsets"].get(offsets))
            return make_error("tensor '%s': entry needs dtype, shape and data_offsets",
                              name.c_str());
        safetensors_tensor_info t;
        t.name = name;
        t.dtype = std::string(dtype);
        size_t elem = dtype_bytes(dtype);
        if (elem == 0)
            return make_error("tensor '%s': unknown dtype '%s'", name.c_str(), t.dtype.c_str());
        // Bytes, and the element count without zero dimensions: both must fit, so that no
        // product of the shape overflows whatever order a reader multiplies it in.
        uint64_t bytes = elem, nonzero_bytes = elem;
        for (auto d : shape) {
            uint64_t v = 0;
            if (d.get(v) || v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                return make_error("tensor '%s': shape must hold non-negative integers",
                                  name.c_str());
            if (__builtin_mul_overflow(bytes, v, &bytes) ||
                (v != 0 && __builtin_mul_overflow(nonzero_bytes, v, &nonzero_bytes)) ||
                nonzero_bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                return make_error("tensor '%s': size overflows", name.c_str());
            t.shape.push_back(static_cast<int64_t>(v));
        }
        uint64_t range[2] = {0, 0};
        size_t n = 0;
        for (auto o : offsets) {
            if (n == 2 || o.get(range[n]))
                return make_error("tensor '%s': data_offsets must be two integers", name.c_str());
            ++n;
        }
        if (n != 2)
            return make_error("tensor '%s': data_offsets must be two integers", name.c_str());
        if (range[0] > range[1] || range[1] > data_bytes)
            return make_error(
                "tensor '%s': data_offsets [%llu, %llu] are outside the %zu data "
                "bytes (truncated or corrupt file)",
                name.c_str(), static_cast<unsigned long long>(range[0]),
                static_cast<unsigned long long>(range[1]), data_bytes);
        if (range[1] - range[0] != bytes)
            return make_error("tensor '%s': %llu data bytes but dtype %s and its shape need %llu",
                              name.c_str(), static_cast<unsigned long long>(range[1] - range[0]),
                              t.dtype.c_str(), static_cast<unsigned long long>(bytes));
        t.data = data + range[0];
        t.num_bytes = static_cast<size_t>(bytes);
        if (index_.count(name)) return make_error("duplicate tensor '%s'", name.c_str());
        index_.emplace(name, 0);
        tensors_.push_back(std::move(t));
    }
    std::sort(tensors_.begin(), tensors_.end(),
              [](const auto& a, const auto& b) { return a.data < b.data; });
    for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
    return status::success();
}

const safetensors_tensor_info* safetensors_file::find_tensor(std::string_view name) const {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace actorlm

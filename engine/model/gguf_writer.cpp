// GGUF v3 serialization: header and metadata, tensor infos with offsets laid
// out back to back at the alignment, padding, then the data.
// Single-threaded; header() and the data loop must agree on every offset.
#include "model/gguf_writer.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "model/ggml_types.hpp"
#include "base/check.hpp"

namespace actorlm {

namespace {

template <class T>
void append(std::vector<uint8_t>& out, T v) {
    size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &v, sizeof(T));
}

void append_string(std::vector<uint8_t>& out, const std::string& s) {
    append<uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace

void gguf_writer::put(const std::string& key, gguf_type type, std::vector<uint8_t> payload) {
    for (kv& e : kvs_) {
        if (e.key == key) {
            e.type = type;
            e.payload = std::move(payload);
            return;
        }
    }
    kvs_.push_back({key, type, std::move(payload)});
}

void gguf_writer::set_u32(const std::string& key, uint32_t v) {
    std::vector<uint8_t> p;
    append(p, v);
    put(key, gguf_type::uint32, std::move(p));
}

void gguf_writer::set_i32(const std::string& key, int32_t v) {
    std::vector<uint8_t> p;
    append(p, v);
    put(key, gguf_type::int32, std::move(p));
}

void gguf_writer::set_u64(const std::string& key, uint64_t v) {
    std::vector<uint8_t> p;
    append(p, v);
    put(key, gguf_type::uint64, std::move(p));
}

void gguf_writer::set_f32(const std::string& key, float v) {
    std::vector<uint8_t> p;
    append(p, v);
    put(key, gguf_type::float32, std::move(p));
}

void gguf_writer::set_bool(const std::string& key, bool v) {
    put(key, gguf_type::boolean, {static_cast<uint8_t>(v ? 1 : 0)});
}

void gguf_writer::set_string(const std::string& key, const std::string& v) {
    std::vector<uint8_t> p;
    append_string(p, v);
    put(key, gguf_type::string, std::move(p));
}

void gguf_writer::set_string_array(const std::string& key, const std::vector<std::string>& v) {
    std::vector<uint8_t> p;
    append(p, static_cast<uint32_t>(gguf_type::string));
    append<uint64_t>(p, v.size());
    for (const std::string& s : v) append_string(p, s);
    put(key, gguf_type::array, std::move(p));
}

void gguf_writer::set_i32_array(const std::string& key, const std::vector<int32_t>& v) {
    std::vector<uint8_t> p;
    append(p, static_cast<uint32_t>(gguf_type::int32));
    append<uint64_t>(p, v.size());
    for (int32_t x : v) append(p, x);
    put(key, gguf_type::array, std::move(p));
}

void gguf_writer::set_f32_array(const std::string& key, const std::vector<float>& v) {
    std::vector<uint8_t> p;
    append(p, static_cast<uint32_t>(gguf_type::float32));
    append<uint64_t>(p, v.size());
    for (float x : v) append(p, x);
    put(key, gguf_type::array, std::move(p));
}

void gguf_writer::copy_key(const gguf_file& src, const std::string& key, std::string as) {
    const std::optional<gguf_type> t = src.type_of(key);
    if (!t) return;
    if (as.empty()) as = key;
    switch (*t) {
        case gguf_type::string: set_string(as, *src.get_string(key)); return;
        case gguf_type::boolean: set_bool(as, *src.get_bool(key)); return;
        case gguf_type::float32:
        case gguf_type::float64: set_f32(as, float(*src.get_float(key))); return;
        case gguf_type::array: {
            gguf_type e = src.array_info(key)->first;
            if (e == gguf_type::string)
                set_string_array(as, src.get_string_array(key));
            else if (e == gguf_type::float32 || e == gguf_type::float64)
                set_f32_array(as, src.get_float_array(key));
            else
                set_i32_array(as, src.get_int_array(key));
            return;
        }
        default: {
            auto v = src.get_int(key);
            if (!v) return;
            if (*v >= 0 && *v <= std::numeric_limits<uint32_t>::max())
                set_u32(as, uint32_t(*v));
            else
                set_i32(as, int32_t(*v));
        }
    }
}

void gguf_writer::add_tensor(const std::string& name, uint32_t ggml_type,
                             std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
    const ggml_type_info* info = ggml_type_lookup(ggml_type);
    ACTORLM_CHECK(info != nullptr, "gguf_writer: unknown ggml type %u", ggml_type);
    ACTORLM_CHECK(!shape.empty() && shape.back() % info->block_elems == 0,
                  "gguf_writer: tensor %s: bad row length for %s", name.c_str(), info->name);
    size_t expect = static_cast<size_t>(shape.back() / info->block_elems) * info->block_bytes;
    for (size_t d = 0; d + 1 < shape.size(); ++d) expect *= static_cast<size_t>(shape[d]);
    ACTORLM_CHECK(bytes.size() == expect, "gguf_writer: tensor %s has %zu bytes, expected %zu",
                  name.c_str(), bytes.size(), expect);
    for (const pending_tensor& t : tensors_)
        ACTORLM_CHECK(t.name != name, "gguf_writer: duplicate tensor %s", name.c_str());
    tensors_.push_back({name, ggml_type, std::move(shape), std::move(bytes)});
}

std::vector<uint8_t> gguf_writer::header() const {
    std::vector<uint8_t> out = {'G', 'G', 'U', 'F'};
    bool write_alignment = alignment_ != 32;
    append<uint32_t>(out, 3);
    append<uint64_t>(out, tensors_.size());
    append<uint64_t>(out, kvs_.size() + (write_alignment ? 1 : 0));
    for (const kv& e : kvs_) {
        append_string(out, e.key);
        append(out, static_cast<uint32_t>(e.type));
        out.insert(out.end(), e.payload.begin(), e.payload.end());
    }
    if (write_alignment) {
        append_string(out, "general.alignment");
        append(out, static_cast<uint32_t>(gguf_type::uint32));
        append(out, alignment_);
    }
    size_t offset = 0;
    for (const pending_tensor& t : tensors_) {
        append_string(out, t.name);
        append(out, static_cast<uint32_t>(t.shape.size()));
        for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it)  // ggml ne: innermost first
            append(out, static_cast<uint64_t>(*it));
        append(out, t.ggml_type);
        append<uint64_t>(out, offset);
        offset = align_up(offset + t.bytes.size(), alignment_);
    }
    out.resize(align_up(out.size(), alignment_), 0);
    return out;
}

std::vector<uint8_t> gguf_writer::serialize() const {
    std::vector<uint8_t> out = header();
    for (const pending_tensor& t : tensors_) {
        out.insert(out.end(), t.bytes.begin(), t.bytes.end());
        out.resize(align_up(out.size(), alignment_), 0);
    }
    return out;
}

status gguf_writer::write(const std::string& path) const {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return make_error("cannot create %s: %s", path.c_str(), std::strerror(errno));
    std::vector<uint8_t> head = header();
    bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size();
    static const uint8_t zeros[64] = {};
    for (const pending_tensor& t : tensors_) {
        if (!ok) break;
        ok = std::fwrite(t.bytes.data(), 1, t.bytes.size(), f) == t.bytes.size();
        size_t pad = align_up(t.bytes.size(), alignment_) - t.bytes.size();
        while (ok && pad > 0) {
            size_t n = pad < sizeof(zeros) ? pad : sizeof(zeros);
            ok = std::fwrite(zeros, 1, n, f) == n;
            pad -= n;
        }
    }
    int e = errno;
    if (std::fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) return make_error("cannot write %s: %s", path.c_str(), std::strerror(e));
    return status::success();
}

}  // namespace actorlm

// GGUF parsing. Layout (little-endian): "GGUF", u32 version, u64 tensor count,
// u64 kv count, the key/values, the tensor infos, padding to general.alignment,
// then the tensor data. The parser bounds every read by the bytes left in the
// file before trusting a count or length, so a corrupt header cannot trigger a
// huge allocation or a read past the mapping.
#include "model/gguf_file.hpp"

#include <cstring>
#include <limits>
#include <optional>

#include "model/ggml_types.hpp"

namespace actorlm {

namespace {

constexpr uint32_t k_max_dims = 4;  // GGML_MAX_DIMS

/// Size of a fixed-size value type; 0 for string/array (variable) and unknown types.
size_t scalar_size(uint32_t t) {
    switch (static_cast<gguf_type>(t)) {
        case gguf_type::uint8:
        case gguf_type::int8:
        case gguf_type::boolean: return 1;
        case gguf_type::uint16:
        case gguf_type::int16: return 2;
        case gguf_type::uint32:
        case gguf_type::int32:
        case gguf_type::float32: return 4;
        case gguf_type::uint64:
        case gguf_type::int64:
        case gguf_type::float64: return 8;
        case gguf_type::string:
        case gguf_type::array: return 0;
    }
    return 0;
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(gguf_type::float64); }

template <class T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

}  // namespace

const char* gguf_type_name(gguf_type t) {
    switch (t) {
        case gguf_type::uint8: return "uint8";
        case gguf_type::int8: return "int8";
        case gguf_type::uint16: return "uint16";
        case gguf_type::int16: return "int16";
        case gguf_type::uint32: return "uint32";
        case gguf_type::int32: return "int32";
        case gguf_type::float32: return "float32";
        case gguf_type::boolean: return "bool";
        case gguf_type::string: return "string";
        case gguf_type::array: return "array";
        case gguf_type::uint64: return "uint64";
        case gguf_type::int64: return "int64";
        case gguf_type::float64: return "float64";
    }
    return "unknown";
}

// Sequential reader over the mapping; the first failure is kept in err_.
class gguf_file::parser {
public:
    explicit parser(gguf_file& f) : f_(f), data_(f.map_->data()), size_(f.map_->size()) {}

    status run();

private:
    size_t left() const { return size_ - pos_; }

    bool fail(error e) {
        if (!err_) err_ = error{f_.path() + ": " + e.message};
        return false;
    }
    bool need(size_t n, const char* what) {
        if (left() >= n) return true;
        return fail(
            make_error("truncated file: %s needs %zu bytes at offset %zu but the file "
                       "has %zu",
                       what, n, pos_, size_));
    }
    template <class T>
    bool read(T& v, const char* what) {
        if (!need(sizeof(T), what)) return false;
        v = load<T>(data_ + pos_);
        pos_ += sizeof(T);
        return true;
    }
    bool read_string(std::string_view& s, const char* what) {
        uint64_t len = 0;
        if (!read(len, what)) return false;
        if (len > left())
            return fail(
                make_error("corrupt file: %s has length %llu at offset %zu but only %zu "
                           "bytes remain",
                           what, static_cast<unsigned long long>(len), pos_ - 8, left()));
        s = std::string_view(reinterpret_cast<const char*>(data_ + pos_), len);
        pos_ += len;
        return true;
    }
    bool read_kv();
    bool read_tensor_info();
    bool place_tensors();

    gguf_file& f_;
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
    std::optional<error> err_;
};

status gguf_file::parser::run() {
    if (size_ < 4 || std::memcmp(data_, "GGUF", 4) != 0) {
        fail(make_error("not a GGUF file (bad magic; expected \"GGUF\")"));
        return *err_;
    }
    pos_ = 4;
    uint32_t version = 0;
    uint64_t n_tensors = 0, n_kv = 0;
    if (!read(version, "the version")) return *err_;
    if (version != 2 && version != 3) {
        fail(make_error("unsupported GGUF version %u (supported: 2 and 3%s)", version,
                        version == 1 ? "; version 1 predates 64-bit counts"
                                     : (version > 0xffff ? "; a big-endian file?" : "")));
        return *err_;
    }
    f_.version_ = version;
    if (!read(n_tensors, "the tensor count") || !read(n_kv, "the metadata count")) return *err_;
    // Each key/value takes at least 13 bytes (key length, type, 1-byte value) and each
    // tensor info at least 24: bound the counts by the file size before reserving.
    if (n_kv > left() / 13) {
        fail(make_error("corrupt file: %llu metadata entries cannot fit in %zu bytes",
                        static_cast<unsigned long long>(n_kv), size_));
        return *err_;
    }
    if (n_tensors > left() / 24) {
        fail(make_error("corrupt file: %llu tensor infos cannot fit in %zu bytes",
                        static_cast<unsigned long long>(n_tensors), size_));
        return *err_;
    }
    f_.key_order_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i)
        if (!read_kv()) return *err_;
    if (f_.has("general.alignment")) {
        auto a = f_.get_int("general.alignment");
        if (f_.type_of("general.alignment") != gguf_type::uint32 || !a || *a <= 0 ||
            (*a & (*a - 1)) != 0) {
            fail(make_error("general.alignment must be a uint32 power of two"));
            return *err_;
        }
        f_.alignment_ = static_cast<size_t>(*a);
    }
    f_.tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i)
        if (!read_tensor_info()) return *err_;
    if (!place_tensors()) return *err_;
    return status::success();
}

bool gguf_file::parser::read_kv() {
    std::string_view key;
    uint32_t type = 0;
    if (!read_string(key, "a metadata key")) return false;
    std::string k(key);
    if (!read(type, "a metadata value type")) return false;
    if (!valid_type(type))
        return fail(make_error("metadata key '%s' has unknown value type %u", k.c_str(), type));
    kv_entry e;
    e.type = static_cast<gguf_type>(type);
    if (e.type == gguf_type::array) {
        uint32_t elem = 0;
        if (!read(elem, "an array element type") || !read(e.count, "an array length")) return false;
        if (!valid_type(elem))
            return fail(make_error("metadata key '%s': array of unknown type %u", k.c_str(), elem));
        e.elem_type = static_cast<gguf_type>(elem);
        if (e.elem_type == gguf_type::array)
            return fail(
                make_error("metadata key '%s': nested arrays are not supported", k.c_str()));
        e.value_offset = pos_;
        size_t elem_size = e.elem_type == gguf_type::string ? 8 : scalar_size(elem);
        if (e.count > left() / elem_size)
            return fail(
                make_error("corrupt file: metadata key '%s' claims %llu elements but "
                           "only %zu bytes remain",
                           k.c_str(), static_cast<unsigned long long>(e.count), left()));
        if (e.elem_type == gguf_type::string) {
            std::string_view s;
            std::string what = "an element of '" + k + "'";
            for (uint64_t i = 0; i < e.count; ++i)
                if (!read_string(s, what.c_str())) return false;
        } else {
            pos_ += static_cast<size_t>(e.count) * elem_size;
        }
    } else {
        e.value_offset = pos_;
        if (e.type == gguf_type::string) {
            std::string_view s;
            std::string what = "the value of '" + k + "'";
            if (!read_string(s, what.c_str())) return false;
        } else {
            std::string what = "the value of '" + k + "'";
            if (!need(scalar_size(type), what.c_str())) return false;
            pos_ += scalar_size(type);
        }
    }
    if (!f_.kvs_.emplace(k, e).second)
        return fail(make_error("duplicate metadata key '%s'", k.c_str()));
    f_.key_order_.push_back(std::move(k));
    return true;
}

bool gguf_file::parser::read_tensor_info() {
    std::string_view name;
    uint32_t n_dims = 0, type = 0;
    if (!read_string(name, "a tensor name") || !read(n_dims, "a tensor's dimension count"))
        return false;
    gguf_tensor_info t;
    t.name = std::string(name);
    if (n_dims > k_max_dims)
        return fail(make_error("tensor '%s' has %u dimensions (at most %u)", t.name.c_str(), n_dims,
                               k_max_dims));
    std::vector<int64_t> ne(n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) {
        uint64_t v = 0;
        if (!read(v, "a tensor dimension")) return false;
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return fail(make_error("tensor '%s': dimension %u is out of range", t.name.c_str(), d));
        ne[d] = static_cast<int64_t>(v);
    }
    // The element count must fit int64 in any order of multiplication: with a zero dimension
    // the byte count below is 0 whatever the others say, and num_elements() would overflow.
    int64_t nonzero_product = 1;
    for (int64_t d : ne)
        if (d != 0 && __builtin_mul_overflow(nonzero_product, d, &nonzero_product))
            return fail(make_error("tensor '%s': element count overflows", t.name.c_str()));
    if (!read(type, "a tensor type") || !read(t.offset, "a tensor offset")) return false;
    const ggml_type_info* info = ggml_type_lookup(type);
    if (!info)
        return fail(make_error("tensor '%s' has unknown ggml type %u", t.name.c_str(), type));
    t.ggml_type = type;
    // Bytes = blocks per row * block bytes * number of rows, each step overflow-checked.
    int64_t row = n_dims ? ne[0] : 1;
    if (row % info->block_elems != 0)
        return fail(
            make_error("tensor '%s': row length %lld is not a multiple of %s's block "
                       "size %lld",
                       t.name.c_str(), static_cast<long long>(row), info->name,
                       static_cast<long long>(info->block_elems)));
    uint64_t bytes = 0;
    bool overflow = __builtin_mul_overflow(static_cast<uint64_t>(row / info->block_elems),
                                           static_cast<uint64_t>(info->block_bytes), &bytes);
    for (uint32_t d = 1; d < n_dims && !overflow; ++d)
        overflow = __builtin_mul_overflow(bytes, static_cast<uint64_t>(ne[d]), &bytes);
    if (overflow) return fail(make_error("tensor '%s': size overflows", t.name.c_str()));
    if (bytes > size_)
        return fail(make_error("tensor '%s' needs %llu bytes but the file has %zu", t.name.c_str(),
                               static_cast<unsigned long long>(bytes), size_));
    t.num_bytes = static_cast<size_t>(bytes);
    t.shape.assign(ne.rbegin(), ne.rend());
    if (!f_.tensor_index_.emplace(t.name, f_.tensors_.size()).second)
        return fail(make_error("duplicate tensor name '%s'", t.name.c_str()));
    f_.tensors_.push_back(std::move(t));
    return true;
}

bool gguf_file::parser::place_tensors() {
    size_t align = f_.alignment_;
    size_t data_start = (pos_ + align - 1) / align * align;
    for (gguf_tensor_info& t : f_.tensors_) {
        if (t.offset % align != 0)
            return fail(
                make_error("tensor '%s': offset %llu is not a multiple of the alignment "
                           "%zu",
                           t.name.c_str(), static_cast<unsigned long long>(t.offset), align));
        if (data_start > size_ || t.offset > size_ - data_start ||
            t.num_bytes > size_ - data_start - t.offset)
            return fail(make_error(
                "truncated file: tensor '%s' (%zu bytes at data offset %llu) "
                "extends past the end of the file (%zu bytes)",
                t.name.c_str(), t.num_bytes, static_cast<unsigned long long>(t.offset), size_));
        t.data = data_ + data_start + t.offset;
    }
    return true;
}

result<std::shared_ptr<gguf_file>> gguf_file::open(const std::string& path) {
    auto map = mapped_file::open(path);
    if (!map) return map.err();
    return from_mapping(std::move(*map));
}

result<std::shared_ptr<gguf_file>> gguf_file::from_mapping(std::shared_ptr<mapped_file> map) {
    std::shared_ptr<gguf_file> f(new gguf_file(std::move(map)));
    parser p(*f);
    if (status s = p.run(); !s) return s.err();
    return f;
}

// ---- accessors: entries were validated by the parser, so reads are in bounds ----

const gguf_file::kv_entry* gguf_file::find_kv(std::string_view key) const {
    auto it = kvs_.find(std::string(key));
    return it == kvs_.end() ? nullptr : &it->second;
}

std::optional<gguf_type> gguf_file::type_of(std::string_view key) const {
    const kv_entry* e = find_kv(key);
    if (!e) return std::nullopt;
    return e->type;
}

std::optional<std::pair<gguf_type, uint64_t>> gguf_file::array_info(std::string_view key) const {
    const kv_entry* e = find_kv(key);
    if (!e || e->type != gguf_type::array) return std::nullopt;
    return std::make_pair(e->elem_type, e->count);
}

std::string_view gguf_file::string_at(size_t offset, size_t* next) const {
    const uint8_t* p = map_->data() + offset;
    uint64_t len = load<uint64_t>(p);
    if (next) *next = offset + 8 + static_cast<size_t>(len);
    return std::string_view(reinterpret_cast<const char*>(p + 8), static_cast<size_t>(len));
}

std::optional<int64_t> gguf_file::scalar_int(gguf_type t, size_t offset) const {
    const uint8_t* p = map_->data() + offset;
    switch (t) {
        case gguf_type::uint8: return load<uint8_t>(p);
        case gguf_type::int8: return load<int8_t>(p);
        case gguf_type::boolean: return load<uint8_t>(p) != 0;
        case gguf_type::uint16: return load<uint16_t>(p);
        case gguf_type::int16: return load<int16_t>(p);
        case gguf_type::uint32: return load<uint32_t>(p);
        case gguf_type::int32: return load<int32_t>(p);
        case gguf_type::int64: return load<int64_t>(p);
        case gguf_type::uint64: {
            uint64_t v = load<uint64_t>(p);
            if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
            return static_cast<int64_t>(v);
        }
        default: return std::nullopt;
    }
}

std::optional<double> gguf_file::scalar_number(gguf_type t, size_t offset) const {
    const uint8_t* p = map_->data() + offset;
    if (t == gguf_type::float32) return load<float>(p);
    if (t == gguf_type::float64) return load<double>(p);
    if (t == gguf_type::boolean) return std::nullopt;
    auto i = scalar_int(t, offset);
    if (!i) return std::nullopt;
    return static_cast<double>(*i);
}

std::optional<std::string> gguf_file::get_string(std::string_view key) const {
    const kv_entry* e = find_kv(key);
    if (!e || e->type != gguf_type::string) return std::nullopt;
    return std::string(string_at(e->value_offset, nullptr));
}

std::optional<int64_t> gguf_file::get_int(std::string_view key) const {
    const kv_entry* e = find_kv(key);
    if (!e || e->type == gguf_type::float32 || e->type == gguf_type::float64) return std::nullopt;
    return scalar_int(e->type, e->value_offset);
}

std::optional<double> gguf_file::get_float(std::string_view key) const {
    const kv_entry* e = find_kv(key);
    if (!e) return std::nullopt;
    return scalar_number(e->type, e->value_offset);
}

std::optional<bool> gguf_file::get_bool(std::string_view key) const {
    const kv_entry* e = find_kv(key);
    if (!e || e->type != gguf_type::boolean) return std::nullopt;
    return map_->data()[e->value_offset] != 0;
}

std::vector<std::string> gguf_file::get_string_array(std::string_view key) const {
    const kv_entry* e = find_kv(key);
    std::vector<std::string> out;
    if (!e || e->type != gguf_type::array || e->elem_type != gguf_type::string) return out;
    out.reserve(static_cast<size_t>(e->count));
    size_t at = e->value_offset;
    for (uint64_t i = 0; i < e->count; ++i) out.emplace_back(string_at(at, &at));
    return out;
}

std::vector<float> gguf_file::get_float_array(std::string_view key) const {
    const kv_entry* e = find_kv(key);
    std::vector<float> out;
    if (!e || e->type != gguf_type::array) return out;
    size_t step = scalar_size(static_cast<uint32_t>(e->elem_type));
    if (step == 0 || e->elem_type == gguf_type::boolean) return out;
    out.reserve(static_cast<size_t>(e->count));
    for (uint64_t i = 0; i < e->count; ++i)
        out.push_back(static_cast<float>(
            *scalar_number(e->elem_type, e->value_offset + static_cast<size_t>(i) * step)));
    return out;
}

std::vector<int32_t> gguf_file::get_int_array(std::string_view key) const {
    const kv_entry* e = find_kv(key);
    std::vector<int32_t> out;
    if (!e || e->type != gguf_type::array) return out;
    size_t step = scalar_size(static_cast<uint32_t>(e->elem_type));
    if (step == 0 || e->elem_type == gguf_type::float32 || e->elem_type == gguf_type::float64 ||
        e->elem_type == gguf_type::boolean)
        return out;
    out.reserve(static_cast<size_t>(e->count));
    for (uint64_t i = 0; i < e->count; ++i) {
        auto v = scalar_int(e->elem_type, e->value_offset + static_cast<size_t>(i) * step);
        if (!v || *v < std::numeric_limits<int32_t>::min() ||
            *v > std::numeric_limits<int32_t>::max())
            return {};
        out.push_back(static_cast<int32_t>(*v));
    }
    return out;
}

const gguf_tensor_info* gguf_file::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(std::string(name));
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace actorlm

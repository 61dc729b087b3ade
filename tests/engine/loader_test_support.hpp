// Helpers for the model-loading tests: a scratch directory removed at scope exit,
// raw file edits for corrupted inputs, and weight comparisons that see through
// the GGUF llama Q/K permutation. Test-only; single-threaded.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "model/model_loader.hpp"
#include "model/model_writer.hpp"
#include "model/tensor_codec.hpp"
#include "model/weight_binding.hpp"

namespace actorlm::test {

/// A fresh directory under the system temp dir, deleted with everything in it on destruction.
class scratch_dir {
public:
    scratch_dir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() /
                ("actorlm-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

/// Offset of the first byte after the first occurrence of `needle` in `bytes`.
inline size_t offset_after(const std::vector<uint8_t>& bytes, const std::string& needle) {
    auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
    REQUIRE_MESSAGE(it != bytes.end(), "'" << needle << "' not found");
    return static_cast<size_t>(it - bytes.begin()) + needle.size();
}

template <class T>
void poke(std::vector<uint8_t>& bytes, size_t at, T v) {
    REQUIRE(at + sizeof(T) <= bytes.size());
    std::memcpy(bytes.data() + at, &v, sizeof(T));
}

/// The values of `t` as fp32, with Q/K rows of `heads` heads put into NeoX order when the
/// model stores them interleaved (GGUF llama). heads = 0 for every other tensor.
inline std::vector<float> neox_values(const tensor& t, const model_config& c, int64_t heads) {
    auto v = tensor_to_f32(t);
    REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.message()));
    if (heads == 0 || c.rope_neox) return *v;
    std::vector<uint8_t> bytes(v->size() * 4);
    std::memcpy(bytes.data(), v->data(), bytes.size());
    size_t row = t.shape.size() == 2 ? size_t(t.cols()) * 4 : 4;
    bytes = permute_rope_rows(bytes, heads, c.head_dim, row, false);
    std::memcpy(v->data(), bytes.data(), bytes.size());
    return *v;
}

/// Heads of role `r` for permutation purposes (Q: num_heads, K: num_kv_heads, else 0).
inline int64_t rope_heads(const model_config& c, weight_role r) {
    if (r == weight_role::wq || r == weight_role::bq) return c.num_heads;
    if (r == weight_role::wk || r == weight_role::bk) return c.num_kv_heads;
    return 0;
}

/// Every weight of `a` equals the same weight of `b` in value (after RoPE-layout alignment).
inline void check_same_weights(const model_config& ca, const model_weights& a,
                               const model_config& cb, const model_weights& b) {
    REQUIRE(a.layers.size() == b.layers.size());
    CHECK(neox_values(a.token_embedding, ca, 0) == neox_values(b.token_embedding, cb, 0));
    CHECK(neox_values(a.output_norm, ca, 0) == neox_values(b.output_norm, cb, 0));
    CHECK(neox_values(a.lm_head, ca, 0) == neox_values(b.lm_head, cb, 0));
    for (size_t i = 0; i < a.layers.size(); ++i)
        for (weight_role r : all_weight_roles) {
            if (!role_used(ca, r)) continue;
            const tensor& ta = layer_tensor(a.layers[i], r);
            const tensor& tb = layer_tensor(b.layers[i], r);
            CAPTURE(ta.name);
            CAPTURE(tb.name);
            CHECK(ta.shape == tb.shape);
            CHECK(neox_values(ta, ca, rope_heads(ca, r)) == neox_values(tb, cb, rope_heads(cb, r)));
        }
}

}  // namespace actorlm::test

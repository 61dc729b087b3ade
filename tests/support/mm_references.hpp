// The multimodal tests' shared reference helpers: where the tiny checkpoints live
// (tests/data/mm/models), raw float32 files, JSON integer arrays, the largest absolute
// difference of two float vectors, and the seeded test picture of
// tools/make-mm-references.py (make_image), computed the same way here.
#pragma once

#include <doctest/doctest.h>

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "multimodal/rgb_image.hpp"

namespace actorlm::test {

inline std::string mm_model_dir(const std::string& name) {
    return std::string(ACTORLM_SOURCE_DIR) + "/tests/data/mm/models/" + name;
}

/// A file of little-endian float32 values.
inline std::vector<float> read_floats(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    in.seekg(0, std::ios::end);
    const auto bytes = static_cast<size_t>(in.tellg());
    in.seekg(0);
    std::vector<float> v(bytes / sizeof(float));
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(bytes));
    return v;
}

/// A JSON array of integers.
inline std::vector<int64_t> json_ints(simdjson::simdjson_result<simdjson::dom::element> e) {
    simdjson::dom::array arr;
    REQUIRE(e.get(arr) == simdjson::SUCCESS);
    std::vector<int64_t> s;
    for (auto v : arr) {
        int64_t x = 0;
        REQUIRE(v.get(x) == simdjson::SUCCESS);
        s.push_back(x);
    }
    return s;
}

/// Qwen2-VL's image_grid_thw: a JSON array of [t, h, w] triples.
inline std::vector<std::array<int64_t, 3>> json_grids(
    simdjson::simdjson_result<simdjson::dom::element> e) {
    simdjson::dom::array arr;
    REQUIRE(e.get(arr) == simdjson::SUCCESS);
    std::vector<std::array<int64_t, 3>> grids;
    for (auto g : arr) {
        const std::vector<int64_t> v = json_ints(std::move(g));
        REQUIRE(v.size() == 3);
        grids.push_back({v[0], v[1], v[2]});
    }
    return grids;
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
    return m;
}

/// make_image of tools/make-mm-references.py: a per-channel gradient with every third
/// 8x8 block replaced by hash noise (sharp edges make the filters overshoot and clip).
inline multimodal::rgb_image formula_image(int width, int height, uint32_t seed) {
    multimodal::rgb_image img;
    img.width = width;
    img.height = height;
    img.pixels.resize(img.num_pixels() * 3);
    for (uint32_t y = 0; y < static_cast<uint32_t>(height); ++y)
        for (uint32_t x = 0; x < static_cast<uint32_t>(width); ++x)
            for (uint32_t c = 0; c < 3; ++c) {
                const uint32_t grad = (x * (3 + c) * 7 + y * (5 + 2 * c) * 3 + seed * 31) & 255;
                uint32_t h = (x * 73856093u) ^ (y * 19349663u) ^ ((c + 1) * 83492791u);
                h ^= seed * 2654435761u;
                h ^= h >> 13;
                h *= 0x5BD1E995u;
                h ^= h >> 15;
                const bool block = ((x / 8 + y / 8) % 3) == 0;
                img.pixels[(static_cast<size_t>(y) * static_cast<size_t>(width) + x) * 3 + c] =
                    static_cast<uint8_t>(block ? (h & 255) : grad);
            }
    return img;
}

}  // namespace actorlm::test

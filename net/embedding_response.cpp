// /v1/embeddings response writing (see embedding_response.hpp). Floats are written
// with 9 significant digits, enough for a float32 to read back exactly, so the float
// and base64 encodings carry the same values.
#include "net/embedding_response.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "net/base64.hpp"
#include "net/json_writer.hpp"

namespace actorlm::net {

std::vector<float> truncate_embedding(std::vector<float> v, int32_t dimensions) {
    if (dimensions < 0 || static_cast<size_t>(dimensions) >= v.size()) return v;
    v.resize(static_cast<size_t>(dimensions));
    double norm2 = 0.0;
    for (float x : v) norm2 += static_cast<double>(x) * x;
    const double norm = std::max(std::sqrt(norm2), 1e-12);
    for (float& x : v) x = static_cast<float>(x / norm);
    return v;
}

std::string embedding_base64(const std::vector<float>& v) {
    std::string bytes(v.size() * sizeof(float), '\0');
    if constexpr (std::endian::native == std::endian::little) {
        if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
    } else {
        for (size_t i = 0; i < v.size(); ++i) {
            const auto u = std::bit_cast<uint32_t>(v[i]);
            for (size_t b = 0; b < 4; ++b)
                bytes[i * 4 + b] = static_cast<char>((u >> (8 * b)) & 0xff);
        }
    }
    return base64_encode(bytes);
}

std::string write_embedding_response(const embedding_response& r, embedding_encoding encoding) {
    json_writer w;
    w.begin_object().field("id", r.id).field("object", "list").field("created", r.created);
    w.field("model", r.model).key("data").begin_array();
    for (size_t i = 0; i < r.embeddings.size(); ++i) {
        w.begin_object().field("object", "embedding").field("index", static_cast<int64_t>(i));
        w.key("embedding");
        if (encoding == embedding_encoding::base64) {
            w.value(embedding_base64(r.embeddings[i]));
        } else {
            w.begin_array();
            for (float x : r.embeddings[i]) w.value(x);
            w.end_array();
        }
        w.end_object();
    }
    w.end_array().key("usage").begin_object();
    w.field("prompt_tokens", r.prompt_tokens).field("total_tokens", r.prompt_tokens);
    w.end_object().end_object();
    return w.take();
}

}  // namespace actorlm::net

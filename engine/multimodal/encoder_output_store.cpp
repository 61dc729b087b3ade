// encoder_output_store implementation: the byte form of vision_features.
#include "multimodal/encoder_output_store.hpp"

#include <cstring>

namespace actorlm::multimodal {

namespace {

void put_i64(std::vector<char>& out, int64_t v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    out.insert(out.end(), p, p + sizeof v);
}

bool get_i64(const std::vector<char>& in, size_t& at, int64_t& v) {
    if (at > in.size() || in.size() - at < sizeof v) return false;
    std::memcpy(&v, in.data() + at, sizeof v);
    at += sizeof v;
    return true;
}

}  // namespace

std::vector<char> features_to_bytes(const vision_features& f) {
    std::vector<char> out;
    out.reserve(8 * (4 + f.image_tokens.size()) + f.data.size() * sizeof(float));
    put_i64(out, static_cast<int64_t>(f.data.size()));
    put_i64(out, f.dim);
    put_i64(out, f.num_images);
    put_i64(out, f.tokens_per_image);
    put_i64(out, static_cast<int64_t>(f.image_tokens.size()));
    for (int64_t t : f.image_tokens) put_i64(out, t);
    const auto* p = reinterpret_cast<const char*>(f.data.data());
    out.insert(out.end(), p, p + f.data.size() * sizeof(float));
    return out;
}

result<vision_features> features_from_bytes(const std::vector<char>& bytes) {
    vision_features f;
    size_t at = 0;
    int64_t values = 0;
    int64_t num_counts = 0;
    if (!get_i64(bytes, at, values) || !get_i64(bytes, at, f.dim) ||
        !get_i64(bytes, at, f.num_images) || !get_i64(bytes, at, f.tokens_per_image) ||
        !get_i64(bytes, at, num_counts) || values < 0 || num_counts < 0 ||
        num_counts > static_cast<int64_t>(bytes.size()))
        return make_error("encoder output bytes: a truncated header");
    f.image_tokens.resize(static_cast<size_t>(num_counts));
    for (int64_t& t : f.image_tokens)
        if (!get_i64(bytes, at, t)) return make_error("encoder output bytes: truncated counts");
    if (bytes.size() - at != static_cast<size_t>(values) * sizeof(float))
        return make_error("encoder output bytes: %zu bytes for %lld values", bytes.size() - at,
                          static_cast<long long>(values));
    f.data.resize(static_cast<size_t>(values));
    std::memcpy(f.data.data(), bytes.data() + at, bytes.size() - at);
    return f;
}

}  // namespace actorlm::multimodal

// image_processor_prompt: marker expansion and placeholder ranges. Expansion is textual so
// the tokenizer sees the same string HF's processor builds (Idefics3's "\n" between rows and
// before the global image merge with neighbouring text exactly as the BPE merges them).
#include "multimodal/image_processor_prompt.hpp"

#include <algorithm>

namespace actorlm::multimodal {

// Named rather than anonymous: unity batches join this file with its neighbours.
namespace image_prompt_detail {

void repeat_into(std::string& out, const std::string& token, int64_t n) {
    out.reserve(out.size() + token.size() * static_cast<size_t>(std::max<int64_t>(n, 0)));
    for (int64_t i = 0; i < n; ++i) out += token;
}

std::string idefics3_text(const idefics3_image_config& c, const processed_image& image) {
    std::string out;
    if (image.num_rows > 0 || image.num_cols > 0) {
        for (int r = 0; r < image.num_rows; ++r) {
            for (int col = 0; col < image.num_cols; ++col) {
                out += c.fake_image_token;
                out += "<row_" + std::to_string(r + 1) + "_col_" + std::to_string(col + 1) + ">";
                repeat_into(out, c.image_token, c.image_seq_len);
            }
            out += "\n";
        }
        out += "\n";
    }
    out += c.fake_image_token;
    out += c.global_image_token;
    repeat_into(out, c.image_token, c.image_seq_len);
    out += c.fake_image_token;
    return out;
}

result<int32_t> required_id(const token_lookup& lookup, const std::string& token) {
    const int32_t id = lookup(token);
    if (id < 0)
        return make_error(error_kind::invalid_argument,
                          "the tokenizer has no '%s' token (needed for image placeholders)",
                          token.c_str());
    return id;
}

error mismatch(size_t found, size_t images) {
    return make_error(error_kind::invalid_argument,
                      "the prompt's image tokens match %zu image(s) but %zu were given", found,
                      images);
}

}  // namespace image_prompt_detail

int64_t placeholder_range::num_embeds() const {
    if (is_embed.empty()) return length;
    return static_cast<int64_t>(std::count(is_embed.begin(), is_embed.end(), true));
}

const std::string& image_marker(const image_processor_config& config) {
    return std::visit([](const auto& c) -> const std::string& { return c.image_token; }, config);
}

std::string image_prompt_text(const image_processor_config& config, const processed_image& image) {
    using namespace image_prompt_detail;
    if (const auto* c = std::get_if<idefics3_image_config>(&config))
        return idefics3_text(*c, image);
    std::string out;
    repeat_into(out, image_marker(config), image.num_image_tokens);
    return out;
}

result<std::string> expand_image_markers(const image_processor_config& config,
                                         std::string_view text,
                                         std::span<const processed_image> images) {
    const std::string& marker = image_marker(config);
    std::string out;
    size_t pos = 0;
    size_t used = 0;
    while (true) {
        const size_t hit = text.find(marker, pos);
        if (hit == std::string_view::npos) break;
        if (used == images.size()) {
            size_t total = used;
            for (size_t p = hit; p != std::string_view::npos;
                 p = text.find(marker, p + marker.size()))
                ++total;
            return make_error(error_kind::invalid_argument,
                              "the prompt has %zu '%s' marker(s) but %zu image(s) were given",
                              total, marker.c_str(), images.size());
        }
        out.append(text.substr(pos, hit - pos));
        out += image_prompt_text(config, images[used++]);
        pos = hit + marker.size();
    }
    if (used != images.size())
        return make_error(error_kind::invalid_argument,
                          "the prompt has %zu '%s' marker(s) but %zu image(s) were given", used,
                          marker.c_str(), images.size());
    out.append(text.substr(pos));
    return out;
}

result<std::vector<placeholder_range>> find_placeholder_ranges(
    const image_processor_config& config, std::span<const int32_t> ids,
    std::span<const processed_image> images, const token_lookup& lookup) {
    using namespace image_prompt_detail;
    auto image_id = required_id(lookup, image_marker(config));
    if (!image_id) return image_id.err();
    const auto* idefics = std::get_if<idefics3_image_config>(&config);
    int32_t wrapper_id = -1;
    if (idefics) {
        auto w = required_id(lookup, idefics->fake_image_token);
        if (!w) return w.err();
        wrapper_id = *w;
    }
    std::vector<placeholder_range> ranges;
    size_t cursor = 0;
    for (size_t i = 0; i < images.size(); ++i) {
        const int32_t start_id = idefics ? wrapper_id : *image_id;
        const auto start = std::find(ids.begin() + static_cast<ptrdiff_t>(cursor), ids.end(),
                                     start_id);
        if (start == ids.end()) return mismatch(i, images.size());
        placeholder_range r;
        r.offset = start - ids.begin();
        size_t pos = static_cast<size_t>(r.offset);
        int64_t embeds = 0;
        // Walk the image's tokens: a plain run of image tokens, or for Idefics3 everything up
        // to the wrapper token that follows the last image token.
        while (pos < ids.size() && embeds < images[i].num_image_tokens) {
            if (ids[pos] == *image_id) {
                ++embeds;
            } else if (!idefics) {
                break;
            }
            if (idefics) r.is_embed.push_back(ids[pos] == *image_id);
            ++pos;
        }
        if (embeds != images[i].num_image_tokens)
            return make_error(error_kind::invalid_argument,
                              "image %zu: the prompt holds %lld image tokens for it, the image "
                              "needs %lld",
                              i, static_cast<long long>(embeds),
                              static_cast<long long>(images[i].num_image_tokens));
        if (idefics) {
            if (pos >= ids.size() || ids[pos] != wrapper_id)
                return make_error(error_kind::invalid_argument,
                                  "image %zu: its tokens do not end with '%s'", i,
                                  idefics->fake_image_token.c_str());
            r.is_embed.push_back(false);
            ++pos;
        }
        r.length = static_cast<int64_t>(pos) - r.offset;
        ranges.push_back(std::move(r));
        cursor = pos;
    }
    if (std::find(ids.begin() + static_cast<ptrdiff_t>(cursor), ids.end(), *image_id) != ids.end())
        return make_error(error_kind::invalid_argument,
                          "the prompt holds more image tokens than the %zu image(s) need",
                          images.size());
    return ranges;
}

}  // namespace actorlm::multimodal

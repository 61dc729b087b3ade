// media_url: see media_url.hpp.
#include "net/media_url.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace actorlm::net {

namespace {

error url_error(const std::string& message) {
    return error{message, error_kind::invalid_argument};
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;  // '-' and '_': the URL-safe alphabet
    if (c == '/' || c == '_') return 63;
    return -1;
}

}  // namespace

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

media_url_kind classify_media_url(std::string_view url) {
    if (starts_with_nocase(url, "data:")) return media_url_kind::data;
    if (starts_with_nocase(url, "http://") || starts_with_nocase(url, "https://"))
        return media_url_kind::http;
    if (starts_with_nocase(url, "file://")) return media_url_kind::file;
    return media_url_kind::unsupported;
}

std::string describe_media_url(std::string_view url) {
    if (classify_media_url(url) == media_url_kind::data) {
        const size_t comma = url.find(',');
        return std::string(url.substr(0, std::min<size_t>(comma, 64))) + ",...";
    }
    if (url.size() > 200) return std::string(url.substr(0, 200)) + "...";
    return std::string(url);
}

result<std::string> decode_data_url(std::string_view url, std::string_view type_prefix) {
    if (classify_media_url(url) != media_url_kind::data)
        return url_error("not a data: URL: " + describe_media_url(url));
    const size_t comma = url.find(',');
    if (comma == std::string_view::npos)
        return url_error("malformed data URL (no ',' before the data): " +
                           describe_media_url(url));
    const std::string_view header = url.substr(5, comma - 5);  // "image/png;base64"
    const size_t semi = header.find(';');
    const std::string_view media_type = header.substr(0, semi);
    const std::string_view params = semi == std::string_view::npos ? "" : header.substr(semi + 1);
    if (params.size() < 6 || params.substr(params.size() - 6) != "base64")
        return url_error("only base64 data URLs are supported: " + describe_media_url(url));
    if (!starts_with_nocase(media_type, type_prefix))
        return url_error("data URL media type '" + std::string(media_type) + "' is not " +
                           std::string(type_prefix) + "*");
    std::string out;
    const std::string_view data = url.substr(comma + 1);
    out.reserve(data.size() / 4 * 3);
    uint32_t acc = 0;
    int bits = 0;
    size_t padding = 0;
    for (size_t i = 0; i < data.size(); ++i) {
        const char c = data[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '=') {
            ++padding;
            continue;
        }
        const int v = base64_value(c);
        if (v < 0 || padding > 0)
            return url_error("data URL is not valid base64 (character " + std::to_string(i) +
                               " of the data)");
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    if (bits >= 6 || padding > 2)
        return url_error("data URL is not valid base64 (its length is wrong)");
    return out;
}

}  // namespace actorlm::net

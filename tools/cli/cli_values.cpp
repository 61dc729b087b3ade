// Byte sizes, HOST:PORT and integer lists for the CLI (see cli_values.hpp).
#include "cli_values.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace actorlm::cli {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// A whole decimal number that uses all of `text`.
bool parse_int(std::string_view text, int64_t& out) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return !text.empty() && ec == std::errc() && ptr == end;
}

}  // namespace

result<int64_t> parse_byte_size(std::string_view text) {
    const std::string s(text);
    char* end = nullptr;
    const double value = s.empty() ? 0.0 : std::strtod(s.c_str(), &end);
    if (s.empty() || end == s.c_str() || !std::isfinite(value) || !(value > 0))
        return make_error("'%s' is not a size in bytes (e.g. 2GiB, 512MiB, 2000000000)", s.c_str());
    std::string unit = lower(end);
    if (!unit.empty() && unit.back() == 'b') unit.pop_back();
    double scale = 0;
    if (unit.empty())
        scale = 1;
    else if (unit == "k")
        scale = 1e3;
    else if (unit == "m")
        scale = 1e6;
    else if (unit == "g")
        scale = 1e9;
    else if (unit == "t")
        scale = 1e12;
    else if (unit == "ki")
        scale = 1024.0;
    else if (unit == "mi")
        scale = 1024.0 * 1024;
    else if (unit == "gi")
        scale = 1024.0 * 1024 * 1024;
    else if (unit == "ti")
        scale = 1024.0 * 1024 * 1024 * 1024;
    if (scale == 0)
        return make_error("'%s' has an unknown unit (use B, K, M, G, T, KiB, MiB, GiB or TiB)",
                          s.c_str());
    const double bytes = value * scale;
    if (bytes < 1 || bytes > 9.2e18) return make_error("'%s' is out of range", s.c_str());
    return static_cast<int64_t>(bytes);
}

result<std::vector<int64_t>> parse_positive_int_list(std::string_view text) {
    std::vector<int64_t> out;
    for (size_t start = 0; start <= text.size();) {
        size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        int64_t n = 0;
        if (!parse_int(text.substr(start, comma - start), n) || n <= 0)
            return make_error("'%s' is not a list of positive integers (e.g. 1,8,32)",
                              std::string(text).c_str());
        out.push_back(n);
        start = comma + 1;
    }
    return out;
}

CLI::Validator byte_size() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            auto bytes = parse_byte_size(text);
            if (!bytes) return bytes.message();
            text = std::to_string(*bytes);
            return {};
        },
        "", "byte size");
}

CLI::Validator host_port_text() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            auto hp = parse_host_port(text);
            return hp ? std::string() : hp.message();
        },
        "", "host and port");
}

result<host_port> parse_base_url(std::string_view url) {
    std::string rest(url);
    if (rest.rfind("http://", 0) == 0)
        rest = rest.substr(7);
    else if (rest.find("://") != std::string::npos)
        return make_error("only http:// base URLs are supported, got '%s'", rest.c_str());
    if (const size_t slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
    const bool has_port =
        rest.rfind(':') != std::string::npos && (rest.front() != '[' || rest.back() != ']');
    if (has_port) return parse_host_port(rest);
    if (rest.empty()) return make_error("no host in base URL '%s'", std::string(url).c_str());
    if (rest.front() == '[') rest = rest.substr(1, rest.size() - 2);
    return host_port{rest, 80};
}

CLI::Validator base_url_text() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            auto url = parse_base_url(text);
            return url ? std::string() : url.message();
        },
        "", "");
}

namespace {

CLI::Validator number_at_least(double low, bool inclusive, const char* name, const char* what) {
    return CLI::Validator(
        [low, inclusive, what](std::string& text) -> std::string {
            char* end = nullptr;
            const double v = std::strtod(text.c_str(), &end);
            if (text.empty() || *end != '\0' || !std::isfinite(v))
                return "'" + text + "' is not a number";
            if (inclusive ? v < low : v <= low) return "'" + text + "' is not " + what;
            return {};
        },
        name);
}

}  // namespace

CLI::Validator non_negative() { return number_at_least(0, true, "NONNEGATIVE", ">= 0"); }

CLI::Validator positive() { return number_at_least(0, false, "POSITIVE", "> 0"); }

CLI::Validator positive_int_list() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            auto list = parse_positive_int_list(text);
            return list ? std::string() : list.message();
        },
        "", "integer list");
}

void add_kv_shape_options(CLI::App& app, int64_t& layers, int64_t& kv_heads, int64_t& head_dim) {
    app.add_option("--layers", layers, "KV layers")->check(positive())->capture_default_str();
    app.add_option("--kv-heads", kv_heads, "KV heads")->check(positive())->capture_default_str();
    app.add_option("--head-dim", head_dim, "head dimension")
        ->check(positive())
        ->capture_default_str();
}

}  // namespace actorlm::cli

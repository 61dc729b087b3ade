// parse_host_port.
#include "base/host_port.hpp"

#include <charconv>

namespace actorlm {

result<host_port> parse_host_port(std::string_view text) {
    const std::string s(text);
    host_port out;
    size_t colon = std::string::npos;
    if (!s.empty() && s.front() == '[') {
        const size_t close = s.find(']');
        if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
            return make_error(error_kind::invalid_argument, "'%s' is not HOST:PORT", s.c_str());
        out.host = s.substr(1, close - 1);
        colon = close + 1;
    } else {
        colon = s.rfind(':');
        if (colon == std::string::npos)
            return make_error(error_kind::invalid_argument, "'%s' is not HOST:PORT", s.c_str());
        out.host = s.substr(0, colon);
    }
    if (out.host.empty())
        return make_error(error_kind::invalid_argument, "'%s' has no host (HOST:PORT)", s.c_str());
    const std::string_view digits = std::string_view(s).substr(colon + 1);
    int64_t port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port < 1 ||
        port > 65535)
        return make_error(error_kind::invalid_argument,
                          "'%s' has no valid port (HOST:PORT, port 1-65535)", s.c_str());
    out.port = static_cast<uint16_t>(port);
    return out;
}

}  // namespace actorlm

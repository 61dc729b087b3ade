// host_port: "HOST:PORT" as every node address is written (`serve --worker`,
// `worker --listen`, `bench-serve --base-url`), with IPv6 hosts in brackets
// ("[::1]:7001"). One parser for the CLI and the actor runtime. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace actorlm {

struct host_port {
    std::string host;  // without the brackets of an IPv6 literal
    uint16_t port = 0;
};

/// Parses HOST:PORT (port 1-65535); errors quote the text and say what is wrong.
result<host_port> parse_host_port(std::string_view text);

}  // namespace actorlm

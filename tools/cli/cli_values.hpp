// Parsers for the value kinds the CLI's options take beyond plain numbers: byte
// sizes ("8GiB"), HOST:PORT addresses, http:// base URLs and comma-separated lists of positive
// integers; each kind is parsed here and nowhere else in tools/cli. Each parser
// also comes as a CLI11 validator, so a malformed value is a parse error that
// names the option (exit 2). Pure functions, no state.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/host_port.hpp"
#include "base/result.hpp"

namespace actorlm::cli {

/// "2000000000", "1e9", "2G"/"2GB" (10^9), "512MiB"/"2GiB" (2^20, 2^30), units
/// K M G T case-insensitive, optional "B". Errors name the text; a size must be > 0.
result<int64_t> parse_byte_size(std::string_view text);

/// "1,8,32" -> {1, 8, 32}; every element a whole number > 0.
result<std::vector<int64_t>> parse_positive_int_list(std::string_view text);

/// Validator + transform for an option bound to an integer byte count: the
/// text ("8GiB") is replaced by the number of bytes before CLI11 converts it.
/// The validators add nothing to the help's type column: set `->type_name()`.
CLI::Validator byte_size();

/// Validator for HOST:PORT text (the option keeps the text).
CLI::Validator host_port_text();

/// A server's base URL, "http://HOST[:PORT][/path]" -> host and port (80 when absent);
/// the clients (bench-serve, soak) speak plain HTTP only.
result<host_port> parse_base_url(std::string_view url);
CLI::Validator base_url_text();

/// Checks that a numeric option's value is a number >= 0 ("NONNEGATIVE" in the
/// help) or > 0 ("POSITIVE"); the message quotes the value (CLI11's own range
/// checks print their bounds as 300-digit doubles).
CLI::Validator non_negative();
CLI::Validator positive();

/// Validator for "1,8,32" text (the option keeps the text; parse it afterwards).
CLI::Validator positive_int_list();

/// The KV cache shape the KV benchmarks size their blocks by: --layers, --kv-heads and
/// --head-dim, each positive, defaults as given.
void add_kv_shape_options(CLI::App& app, int64_t& layers, int64_t& kv_heads, int64_t& head_dim);

}  // namespace actorlm::cli

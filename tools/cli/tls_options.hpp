// The "TLS options" of every cluster command (serve, worker, router, kv-store):
// --tls-cert, --tls-key, --tls-ca, bound to an actorlm::tls_config. Parsed here and
// nowhere else in tools/cli. A usage error (exit 2, naming the option or the file) is:
// one or two of the three given, a file that cannot be read, or files that do not make
// a usable node identity (actors::check_tls_config: not PEM, key and certificate that
// do not match, a certificate that does not chain to the CA). Parse-time only, no state.
#pragma once

#include <CLI/CLI.hpp>

#include <actorlm/engine.hpp>

namespace actorlm::cli {

/// Adds --tls-cert, --tls-key and --tls-ca to `app`, bound to `tls` (which must
/// outlive parsing), in a "TLS options" group; after parsing, the three together are
/// checked (the app's final callback, so a failure is a parse error: exit 2).
void add_tls_options(CLI::App& app, tls_config& tls);

}  // namespace actorlm::cli

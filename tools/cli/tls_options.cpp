// TLS options implementation.
#include "tls_options.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "actors/node_tls.hpp"

namespace actorlm::cli {

namespace {

/// The option's file must exist and be readable (CLI11's ExistingFile would accept
/// a file this process cannot open).
CLI::Validator readable_file() {
    return CLI::Validator(
        [](std::string& path) -> std::string {
            std::error_code ec;
            if (std::filesystem::is_directory(path, ec)) return path + " is a directory";
            std::FILE* f = std::fopen(path.c_str(), "rb");
            if (!f) return "cannot read " + path + ": " + std::strerror(errno);
            std::fclose(f);
            return {};
        },
        "", "readable file");
}

}  // namespace

void add_tls_options(CLI::App& app, tls_config& tls) {
    const char* group = "TLS options";
    auto* cert = app.add_option("--tls-cert", tls.cert_file,
                                "this node's certificate (PEM, may hold the chain); mutual TLS "
                                "with every other node (docs/cluster.md)")
                     ->type_name("FILE")
                     ->check(readable_file())
                     ->group(group);
    auto* key = app.add_option("--tls-key", tls.key_file,
                               "the unencrypted PEM private key of --tls-cert")
                    ->type_name("FILE")
                    ->check(readable_file())
                    ->group(group);
    auto* ca = app.add_option("--tls-ca", tls.ca_file,
                              "PEM CA certificate(s): peers must present a certificate that "
                              "chains to it")
                   ->type_name("FILE")
                   ->check(readable_file())
                   ->group(group);
    // All three or none: each names the ones it needs ("--tls-cert requires --tls-ca").
    cert->needs(key)->needs(ca);
    key->needs(cert)->needs(ca);
    ca->needs(cert)->needs(key);
    app.final_callback([&tls] {
        if (auto err = actors::check_tls_config(tls); !err.empty())
            throw CLI::ValidationError("--tls-cert/--tls-key/--tls-ca", err);
    });
}

}  // namespace actorlm::cli

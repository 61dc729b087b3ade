// node_tls implementation. The checks load the files with the same OpenSSL calls CAF
// 0.17's session::create_ssl_context makes for every connection (certificate chain,
// private key, verify locations), so a file that passes here also loads there.
#include "actors/node_tls.hpp"

#include <caf/openssl/manager.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace actorlm::actors {

namespace {

/// The newest OpenSSL error as text (and the queue emptied, so that nothing stale
/// reaches CAF's own error reports on this thread).
std::string openssl_error() {
    unsigned long code = ERR_peek_last_error();
    std::string out;
    if (code != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof(buf));
        out = buf;
    }
    ERR_clear_error();
    return out;
}

/// A key that asks for a passphrase fails instead of prompting on the terminal (which is
/// what OpenSSL's default callback does, and would hang a daemon).
int refuse_passphrase(char*, int, int, void*) { return 0; }

std::string check_readable(const char* what, const std::string& path) {
    if (path.empty())
        return std::string("TLS: no ") + what +
               " file given (mutual TLS needs the node's certificate, its key and the CA "
               "file, all three)";
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        return std::string("TLS: the ") + what + " file " + path + " is a directory";
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        return std::string("TLS: cannot read the ") + what + " file " + path + ": " +
               std::strerror(errno);
    std::fclose(f);
    return {};
}

struct ctx_deleter {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct store_ctx_deleter {
    void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};

/// Whether the node's own certificate (with the intermediates of its chain file)
/// verifies against the CA file, as a peer will verify it.
std::string check_chain(SSL_CTX* ctx, const tls_config& tls) {
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    STACK_OF(X509)* extra = nullptr;
    SSL_CTX_get0_chain_certs(ctx, &extra);
    std::unique_ptr<X509_STORE_CTX, store_ctx_deleter> vctx(X509_STORE_CTX_new());
    if (!leaf || !vctx ||
        X509_STORE_CTX_init(vctx.get(), SSL_CTX_get_cert_store(ctx), leaf, extra) != 1)
        return "TLS: cannot check the certificate in " + tls.cert_file + ": " + openssl_error();
    if (X509_verify_cert(vctx.get()) == 1) return {};
    const int code = X509_STORE_CTX_get_error(vctx.get());
    ERR_clear_error();
    return "TLS: the certificate in " + tls.cert_file + " does not verify against the CA in " +
           tls.ca_file + " (" + X509_verify_cert_error_string(code) +
           "); every peer trusting that CA would refuse this node";
}

}  // namespace

std::string check_tls_config(const tls_config& tls) {
    if (!tls.enabled()) return {};
    for (auto [what, path] : {std::pair{"certificate", &tls.cert_file},
                              std::pair{"private key", &tls.key_file},
                              std::pair{"CA certificate", &tls.ca_file}})
        if (auto err = check_readable(what, *path); !err.empty()) return err;
    std::unique_ptr<SSL_CTX, ctx_deleter> ctx(SSL_CTX_new(TLS_method()));
    if (!ctx) return "TLS: cannot create an OpenSSL context: " + openssl_error();
    SSL_CTX_set_default_passwd_cb(ctx.get(), refuse_passphrase);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1)
        return "TLS: " + tls.cert_file + " holds no PEM certificate (" + openssl_error() + ")";
    // OpenSSL checks that the key matches the certificate while loading it.
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            return "TLS: the key in " + tls.key_file + " does not belong to the certificate in " +
                   tls.cert_file;
        }
        return "TLS: " + tls.key_file +
               " holds no usable PEM private key (encrypted keys are not supported) (" +
               openssl_error() + ")";
    }
    if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.c_str(), nullptr) != 1)
        return "TLS: " + tls.ca_file + " holds no PEM CA certificate (" + openssl_error() + ")";
    return check_chain(ctx.get(), tls);
}

std::string configure_node_tls(caf::actor_system_config& cfg, const tls_config& tls) {
    if (!tls.enabled()) return {};
    if (auto err = check_tls_config(tls); !err.empty()) return err;
    // CAF opens the files again for every connection (one SSL_CTX per session): pin
    // them to absolute paths so a later chdir cannot change what they name.
    auto absolute = [](const std::string& p) { return std::filesystem::absolute(p).string(); };
    cfg.openssl_certificate = absolute(tls.cert_file);
    cfg.openssl_key = absolute(tls.key_file);
    cfg.openssl_cafile = absolute(tls.ca_file);
    // With any of these set, CAF 0.17 turns on authentication: SSL_VERIFY_PEER |
    // SSL_VERIFY_FAIL_IF_NO_PEER_CERT on the context both sides use, so the accepting
    // node demands a client certificate and the connecting node checks the server's.
    cfg.load<caf::openssl::manager>();
    return {};
}

bool node_uses_tls(const caf::actor_system& sys) { return sys.has_openssl_manager(); }

caf::io::middleman_actor node_connector(caf::actor_system& sys) {
    return node_uses_tls(sys) ? sys.openssl_manager().actor_handle()
                              : sys.middleman().actor_handle();
}

caf::expected<uint16_t> publish_node(caf::actor_system& sys, const caf::strong_actor_ptr& whom,
                                     std::set<std::string> sigs, const std::string& host,
                                     uint16_t port) {
    if (!whom) return caf::sec::cannot_publish_invalid_actor;
    // What middleman::publish and openssl::publish both do, through the chosen actor.
    auto f = caf::make_function_view(node_connector(sys));
    return f(caf::publish_atom::value, port, whom, std::move(sigs), host, true);
}

caf::expected<caf::strong_actor_ptr> connect_node(caf::actor_system& sys,
                                                  const std::set<std::string>& ifs,
                                                  const std::string& host, uint16_t port) {
    auto f = caf::make_function_view(node_connector(sys), caf::duration{k_node_connect_timeout});
    auto res = f(caf::connect_atom::value, host, port);
    if (!res) return std::move(res.error());
    caf::strong_actor_ptr ptr = std::move(std::get<1>(*res));
    if (!ptr) return caf::make_error(caf::sec::no_actor_published_at_port, port);
    if (!sys.assignable(std::get<2>(*res), ifs))
        return caf::make_error(caf::sec::unexpected_actor_messaging_interface, ifs,
                               std::move(std::get<2>(*res)));
    return ptr;
}

std::string describe_connect_error(caf::actor_system& sys, const caf::error& err) {
    std::string out = sys.render(err);
    const bool handshake = err == caf::sec::disconnect_during_handshake ||
                           err == caf::sec::connection_timeout ||
                           err == caf::sec::request_timeout ||
                           err == caf::sec::cannot_connect_to_node;
    if (!handshake) return out;
    if (node_uses_tls(sys))
        out +=
            " (this node speaks TLS: the peer must run with --tls-cert/--tls-key/--tls-ca, "
            "and each side's certificate must chain to the other's CA)";
    else
        out += " (this node speaks plaintext: a peer that runs with TLS refuses it)";
    return out;
}

}  // namespace actorlm::actors

// file_digest implementation: one EVP digest loop over 1 MiB reads, shared by both.
#include "net/hub/file_digest.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace actorlm::net::hub {

namespace {

result<std::string> digest_file(const std::string& path, const EVP_MD* md,
                                const std::string& prefix) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) return make_error("cannot read %s: %s", path.c_str(), std::strerror(errno));
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
        return make_error("cannot start a digest for %s", path.c_str());
    EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size());
    std::vector<unsigned char> buf(size_t{1} << 20);
    for (;;) {
        const size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
        if (n > 0) EVP_DigestUpdate(ctx.get(), buf.data(), n);
        if (n < buf.size()) break;
    }
    if (std::ferror(f.get())) return make_error("error reading %s", path.c_str());
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), out, &len);
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
        hex += k_hex[out[i] >> 4];
        hex += k_hex[out[i] & 15];
    }
    return hex;
}

}  // namespace

result<std::string> sha256_of_file(const std::string& path) {
    return digest_file(path, EVP_sha256(), "");
}

result<std::string> git_blob_sha1_of_file(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return make_error("cannot read %s: %s", path.c_str(), ec.message().c_str());
    std::string prefix = "blob " + std::to_string(size);
    prefix.push_back('\0');
    return digest_file(path, EVP_sha1(), prefix);
}

}  // namespace actorlm::net::hub

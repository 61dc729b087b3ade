// file_digest: the two digests the Hub names files by — SHA-256 of the content (an LFS
// file's oid) and git's blob SHA-1 ("blob <size>\0" + content, a small file's ETag) —
// as lower-case hex, through OpenSSL's EVP interface, reading the file in pieces.
#pragma once

#include <string>

#include "base/result.hpp"

namespace actorlm::net::hub {

/// SHA-256 of the file's bytes, lower-case hex.
result<std::string> sha256_of_file(const std::string& path);

/// git's blob id of the file (SHA-1 over "blob <size>\0" and the bytes), lower-case hex.
result<std::string> git_blob_sha1_of_file(const std::string& path);

}  // namespace actorlm::net::hub

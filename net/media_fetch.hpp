// media_fetch: the bytes behind an image URL of a chat request — data: URLs (base64),
// http(s):// (Beast client, OpenSSL for https, a deadline, a byte limit, a few redirects
// to http/https only) and file:// under --allowed-local-media-path (vLLM's rules). Every
// failure is a message naming the URL and the problem. fetch_media_all blocks its caller
// (never call it on an I/O thread): it runs its fetches concurrently on a private io_context.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "net/media_url.hpp"

namespace actorlm::net {

struct media_fetch_options {
    /// Per URL, connection to last byte (vLLM's VLLM_IMAGE_FETCH_TIMEOUT default, 5 s).
    std::chrono::milliseconds timeout{5000};
    /// Largest response body or file accepted.
    size_t max_bytes = size_t{20} << 20;
    /// Redirects followed per URL (http and https targets only).
    int max_redirects = 5;
    /// file:// URLs must resolve (symlinks and ".." too) inside this directory;
    /// empty: file:// is refused (vLLM's --allowed-local-media-path).
    std::string allowed_local_media_path;
};

/// Reads a file:// URL under options.allowed_local_media_path.
result<std::string> read_local_media(std::string_view url, const media_fetch_options& options);

/// Fetches each URL (http, https, file; data: is decoded too), concurrently, each
/// within options.timeout. One result per URL, in order. Blocks.
std::vector<result<std::string>> fetch_media_all(const std::vector<std::string>& urls,
                                                 const media_fetch_options& options);

}  // namespace actorlm::net

// webui_assets: the web chat page's files (net/webui/*), embedded into the binary at
// build time by cmake/embed_files.cmake, and the HTTP path each is served under: `/` is
// index.html, every other file is /webui/<name>. Immutable data; any thread.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace actorlm::net {

class response_sink;

/// One embedded file: its name under net/webui/ and its bytes.
struct embedded_file {
    const char* name;
    const unsigned char* data;
    size_t size;
};

/// Every file of net/webui/, sorted by name. Defined in the generated
/// webui_assets_data.cpp.
std::span<const embedded_file> embedded_webui_files();

/// A file as the server answers it.
struct webui_asset {
    std::string_view content_type;  // from the file's extension, with charset for text
    std::string_view body;
};

/// The asset served at `path` ("/" or "/webui/<name>"), or nothing for any other path.
/// The query string must already be removed.
const webui_asset* find_webui_asset(std::string_view path);

/// Answers a GET of `path` with its asset (200, no-cache, and on the page a
/// Content-Security-Policy that allows only the page's own files); false, sending
/// nothing, when `path` is not an asset's. Used by the API router and, while the model
/// loads, by the startup gate, so the page and its headers are defined once.
bool send_webui_asset(std::string_view path, response_sink& sink);

/// The Content-Type for a file name, from its extension (application/octet-stream when
/// unknown).
std::string_view webui_content_type(std::string_view name);

}  // namespace actorlm::net

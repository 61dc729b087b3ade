// text_file: a whole file read into a string — config.json, processor configs, chat
// templates. One reader for every loader. Any thread.
#pragma once

#include <filesystem>
#include <string>

#include "base/result.hpp"

namespace actorlm {

/// The file's bytes; an error "cannot read PATH" when it cannot be opened.
result<std::string> read_text_file(const std::filesystem::path& path);

/// The file's bytes, or empty when it is absent or cannot be opened (optional files).
std::string read_text_file_or_empty(const std::filesystem::path& path);

}  // namespace actorlm

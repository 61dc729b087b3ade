// file_selection: which files of a Hub repository make a model we load, decided from
// the file names alone (so the cache-only path decides the same way as the download):
// a GGUF repository gives the one file of the requested quantization (Q4_K_M when none
// was asked for, as llama.cpp picks; the only GGUF when there is just one); a safetensors
// repository gives its weights plus the config, tokenizer and processor files it has.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"

namespace actorlm::net::hub {

/// The quantization llama.cpp's -hf downloads when none is named.
inline constexpr const char* k_default_gguf_quant = "Q4_K_M";

struct model_files {
    /// What to fetch (repository paths).
    std::vector<std::string> files;
    /// What to load, relative to the snapshot: the GGUF file, or "" (the snapshot
    /// folder itself, a Hugging Face model directory).
    std::string model_file;
};

/// Picks from `available` (every file of the repository). `quant` "" means the default.
/// Errors name the repository and, when no or several GGUF files match, the candidates.
result<model_files> select_model_files(const std::string& repo_id, const std::string& quant,
                                       const std::vector<std::string>& available);

}  // namespace actorlm::net::hub

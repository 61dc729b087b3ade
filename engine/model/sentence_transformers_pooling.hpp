// sentence_transformers_pooling: the pooling a sentence-transformers model directory declares
// (modules.json naming a Pooling module whose config.json picks CLS, mean or last-token
// pooling, and whether a Normalize module follows), as vLLM reads it for an embedding model.
// Pure function of the files; any thread.
#pragma once

#include <optional>
#include <string>

#include <actorlm/engine.hpp>

#include "base/result.hpp"

namespace actorlm {

/// The directory's pooling; nullopt when it has no modules.json or no Pooling module. Errors
/// name the file: unreadable JSON, or a pooling mode actorlm does not run (max, mean-sqrt-len,
/// weighted mean), so such a model never embeds with the wrong pooling.
result<std::optional<pooling_params>> read_sentence_transformers_pooling(const std::string& dir);

}  // namespace actorlm

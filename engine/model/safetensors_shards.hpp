// safetensors_shards: which files hold a Hugging Face checkpoint's tensors — the
// values of model.safetensors.index.json's weight_map, or the one model.safetensors.
// Shared by the text-model and vision-tower loaders. Pure function; any thread.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"

namespace actorlm {

/// The shard file names (sorted, unique, plain names inside `dir`); errors name the
/// index and what is wrong with it, or say that neither file exists.
result<std::vector<std::string>> safetensors_shard_files(const std::string& dir);

}  // namespace actorlm

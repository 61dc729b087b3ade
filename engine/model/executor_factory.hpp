// executor_factory: builds the model_executor of one worker (a pipeline stage,
// or the whole model) from a loaded model, so the worker actor and the offline
// engine construct executors the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "model/model_executor.hpp"
#include "model/model_loader.hpp"

namespace actorlm {

/// What to build: device, layer range and KV cache.
struct executor_request {
    std::string device = "cpu";
    int64_t first_layer = 0;
    int64_t last_layer = -1;        // one past the last; -1 = all layers
    int32_t num_blocks = 0;
    int32_t block_size = 16;
    std::string kv_dtype = "f32";   // f32 or f16
    int32_t num_threads = 0;        // 0 = all cores
};

/// Builds the executor; errors name the problem (unknown device, bad layer
/// range, KV dtype, weights that do not fit the config).
result<std::unique_ptr<model_executor>> make_executor(const loaded_model& model,
                                                      const executor_request& req);

/// Parses "f32"/"f16"; "auto" resolves to F32 (callers that know the model use
/// resolve_kv_dtype instead).
result<dtype> parse_kv_dtype(const std::string& name);

/// The KV cache type for `name` and a model: "auto" is F32 for F32 weights (so a
/// full-precision model runs at full precision) and F16 otherwise, as llama.cpp
/// defaults: decode attention is bound by reading the cache, and F16 halves both
/// that traffic and the memory per token.
result<dtype> resolve_kv_dtype(const std::string& name, const model_weights& weights);

}  // namespace actorlm

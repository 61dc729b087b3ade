// backend: one compute backend (cpu, cuda) as the engine sees it. A backend
// turns (loaded model, executor_request) into a model_executor, decides which
// KV-cache dtypes it can store, and sizes the KV cache from the memory of *its*
// device (host MemAvailable for the CPU, free GPU memory for CUDA). Backends
// register by name in one registry (backend_registry.cpp); the CUDA backend
// registers itself when it is compiled and linked, so nothing above the engine
// names a backend type or needs an #ifdef.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <actorlm/engine.hpp>

#include "model/model_executor.hpp"
#include "model/model_loader.hpp"

namespace actorlm {

/// What to build: device, layer range and KV cache.
struct executor_request {
    std::string device = "cpu";
    int64_t first_layer = 0;
    int64_t last_layer = -1;  // one past the last; -1 = all layers
    /// KV blocks to allocate; 0 = as many as kv_cache_memory_bytes (or, when that is 0,
    /// the backend's default share of its device memory) holds, capped at max_num_blocks.
    int32_t num_blocks = 0;
    int64_t kv_cache_memory_bytes = 0;
    int32_t max_num_blocks = 0;  // 0 = no cap (the plan sets what max_num_seqs can use)
    int32_t block_size = 16;
    std::string kv_cache_dtype = "auto";
    /// Page KV per attention type (model/kv_cache_layout.hpp) when the model mixes full and
    /// sliding layers; only for a backend whose pages_kv_groups() and an executor with
    /// every layer.
    bool hybrid_kv_groups = false;
    int32_t num_threads = 0;  // CPU threads; 0 = all cores
    /// engine_config::on_load_progress for the weights this executor lays out. The CPU
    /// backend reports per matrix; CUDA's upload does not report yet. Empty: nothing.
    std::function<void(const load_progress&)> on_load_progress;
};

class backend {
public:
    virtual ~backend() = default;

    /// The name users pass as --device ("cpu", "cuda").
    virtual const char* name() const = 0;

    /// Whether its executors page KV per attention type (executor_request::hybrid_kv_groups).
    virtual bool pages_kv_groups() const { return false; }

    /// The KV-cache element type this backend would use for `requested` ("auto", "f32",
    /// "f16", "bf16", "q8_0") and `model`; an error naming what it can store instead, or
    /// why the model's KV rows do not fit the type.
    virtual result<dtype> resolve_kv_dtype(const std::string& requested,
                                           const loaded_model& model) const = 0;

    /// Builds the executor. With req.num_blocks == 0 the backend sizes the KV cache from
    /// its own memory; the result's kv_spec() says what it allocated.
    virtual result<std::unique_ptr<model_executor>> make_executor(
        const loaded_model& model, const executor_request& req) const = 0;
};

/// Adds a backend (at static-initialisation time or from main); a second backend of
/// the same name replaces the first.
void register_backend(std::unique_ptr<backend> b);

/// The backend called `name`, or an error listing the available ones.
result<const backend*> find_backend(const std::string& name);

/// Names of the registered backends, sorted.
std::vector<std::string> backend_names();

/// find_backend(req.device)->make_executor(model, req).
result<std::unique_ptr<model_executor>> make_executor(const loaded_model& model,
                                                      const executor_request& req);

/// Parses a KV dtype name ("f32"/"float32", "f16"/"float16"/"half", "bf16"/"bfloat16",
/// "q8_0"); "auto" is resolved by the backend, not here.
result<dtype> parse_kv_dtype(const std::string& name);

/// Blocks a KV cache gets for `req` on a device with `available_bytes` for it: the
/// explicit num_blocks, else the budget (kv_cache_memory_bytes, or available_bytes)
/// divided by `block_bytes`, capped at max_num_blocks. Errors when not one block fits.
result<int32_t> plan_kv_blocks(const executor_request& req, int64_t block_bytes,
                               int64_t available_bytes);

}  // namespace actorlm

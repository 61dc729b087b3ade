// executor_factory implementation (CPU backend; the CUDA backend is chosen by
// the worker actor in builds that have it).
#include "model/executor_factory.hpp"

#include "model/cpu_executor.hpp"

namespace actorlm {

result<dtype> parse_kv_dtype(const std::string& name) {
    if (name == "f32" || name == "auto" || name == "float32") return dtype::f32;
    if (name == "f16" || name == "float16" || name == "half") return dtype::f16;
    return make_error("unknown KV cache dtype '%s' (use f32 or f16)", name.c_str());
}

result<dtype> resolve_kv_dtype(const std::string& name, const model_weights& weights) {
    if (name != "auto") return parse_kv_dtype(name);
    const bool float32_model = weights.layers.empty() || weights.layers.front().wq.type == dtype::f32;
    return float32_model ? dtype::f32 : dtype::f16;
}

result<std::unique_ptr<model_executor>> make_executor(const loaded_model& model,
                                                      const executor_request& req) {
    if (req.device != "cpu")
        return make_error("device '%s' is not available in this build (use cpu)",
                          req.device.c_str());
    auto kv_type = parse_kv_dtype(req.kv_dtype);
    if (!kv_type) return kv_type.err();
    if (req.num_blocks <= 0) return make_error("a KV cache needs at least one block");
    kv_cache_spec spec;
    spec.num_blocks = req.num_blocks;
    spec.block_size = req.block_size;
    spec.type = kv_type.value();
    cpu_executor_options opts;
    opts.num_threads = req.num_threads;
    opts.first_layer = req.first_layer;
    opts.last_layer = req.last_layer;
    auto exec = cpu_executor::create(model.config, model.weights, spec, opts);
    if (!exec) return exec.err();
    return std::unique_ptr<model_executor>(std::move(exec.value()));
}

}  // namespace actorlm

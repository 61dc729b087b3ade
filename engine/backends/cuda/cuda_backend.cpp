// The CUDA backend: one cuda_executor per worker (whole models, one GPU). The KV
// cache is stored in the compute type, so --kv-cache-dtype picks the compute type
// (bf16 by default, f16, or f32 for the exact mode); it is sized from the GPU
// memory left after the weights and workspaces, not from host memory. Registers
// itself at static-initialisation time: the build links this library whole
// (WHOLE_ARCHIVE) wherever the engine is linked with CUDA.
#include "backends/backend.hpp"
#include "backends/cuda/cuda_executor.hpp"
#include "core/kv_cache_sizing.hpp"

namespace actorlm {

namespace {

class cuda_backend final : public backend {
public:
    const char* name() const override { return "cuda"; }

    result<dtype> resolve_kv_dtype(const std::string& requested,
                                   const loaded_model&) const override {
        if (requested == "auto") return dtype::bf16;
        auto t = parse_kv_dtype(requested);
        if (!t) return t.err();
        // The CUDA kernels read the cache in the compute type; they have no 8-bit path.
        if (*t == dtype::q8_0)
            return make_error(
                "the cuda device stores the KV cache as bf16, f16 or f32 (its compute "
                "type), not %s: the q8_0 KV cache is cpu-only",
                requested.c_str());
        return t;  // f32, f16 and bf16 are all compute types of the CUDA backend
    }

    result<std::unique_ptr<model_executor>> make_executor(
        const loaded_model& model, const executor_request& req) const override {
        const model_config& mc = model.config;
        const int64_t last = req.last_layer < 0 ? mc.num_layers : req.last_layer;
        if (req.first_layer != 0 || last != mc.num_layers)
            return make_error(
                "the cuda device runs whole models (layers 0..%lld), not a "
                "pipeline stage; use one worker per GPU",
                static_cast<long long>(mc.num_layers));
        auto kv_type = resolve_kv_dtype(req.kv_cache_dtype, model);
        if (!kv_type) return kv_type.err();
        cuda::cuda_executor_options opts;
        opts.compute_type = *kv_type;
        opts.kv_block_size = req.block_size;
        opts.kv_max_blocks = req.max_num_blocks;
        if (req.num_blocks > 0 || req.kv_cache_memory_bytes > 0) {
            const int64_t block_bytes = core::kv_block_bytes(mc, req.block_size, *kv_type);
            auto blocks = plan_kv_blocks(req, block_bytes, 0);
            if (!blocks) return make_error("KV cache: %s", blocks.message().c_str());
            opts.kv_num_blocks = *blocks;
        }  // else: the executor fills its share of the free GPU memory
        auto exec = cuda::cuda_executor::create(mc, model.weights, opts);
        if (!exec) return exec.err();
        return std::unique_ptr<model_executor>(std::move(exec.value()));
    }
};

/// Registers the backend when this object file is linked in.
const bool registered = [] {
    register_backend(std::make_unique<cuda_backend>());
    return true;
}();

}  // namespace

}  // namespace actorlm

// The CPU backend: cpu_executor over the host's cores, its KV cache sized from a
// share of the usable memory (MemAvailable capped by the cgroup's headroom, or the
// caller's byte budget), stored as F32,
// F16 or 8-bit q8_0 (llama.cpp's quantized cache: ~1.88x the tokens of F16 in the
// same memory). Registered by the registry on first use (see backend_registry.cpp).
#include <algorithm>

#include "backends/backend.hpp"
#include "backends/cpu/cpu_executor.hpp"
#include "core/host_memory.hpp"
#include "core/kv_cache_sizing.hpp"
#include "model/kv_cache_storage.hpp"

namespace actorlm {

namespace {

/// Share of MemAvailable the KV cache takes when no budget is given: the weights are
/// memory-mapped and share the same memory, so the default stays modest.
constexpr double k_default_host_memory_fraction = 0.2;

class cpu_backend final : public backend {
public:
    const char* name() const override { return "cpu"; }

    result<dtype> resolve_kv_dtype(const std::string& requested,
                                   const loaded_model& model) const override {
        if (requested == "auto") {
            // F32 weights keep a full-precision cache; otherwise F16 halves the memory per
            // token and the bytes decode attention reads, as llama.cpp defaults.
            const auto& layers = model.weights.layers;
            const bool float32_model = layers.empty() || layers.front().wq.type == dtype::f32;
            return float32_model ? dtype::f32 : dtype::f16;
        }
        auto t = parse_kv_dtype(requested);
        if (!t) return t.err();
        if (*t != dtype::f32 && *t != dtype::f16 && *t != dtype::q8_0)
            return make_error("the cpu device stores the KV cache as f32, f16 or q8_0, not %s",
                              requested.c_str());
        // Refused here, at start-up, rather than when the cache is allocated: the plan
        // resolves the type before it sizes anything.
        const model_config& mc = model.config;
        if (auto row = kv_row_bytes(*t, mc.num_kv_heads, mc.head_dim); !row.ok()) return row.err();
        return t;
    }

    bool pages_kv_groups() const override { return true; }

    result<std::unique_ptr<model_executor>> make_executor(
        const loaded_model& model, const executor_request& req) const override {
        auto kv_type = resolve_kv_dtype(req.kv_cache_dtype, model);
        if (!kv_type) return kv_type.err();
        const model_config& mc = model.config;
        const int64_t last = req.last_layer < 0 ? mc.num_layers : req.last_layer;
        const int64_t stage_layers = std::max<int64_t>(last - req.first_layer, 0);
        // A block holds K and V of block_size tokens for this stage's layers only, or with
        // KV-cache groups for one group's layer slots.
        const int64_t paged_layers =
            req.hybrid_kv_groups ? make_kv_cache_layout(mc, true).num_slots : stage_layers;
        const int64_t block_bytes =
            mc.num_layers > 0
                ? core::kv_block_bytes(mc, req.block_size, *kv_type) / mc.num_layers * paged_layers
                : 0;
        int64_t available = 0;
        if (req.num_blocks == 0 && req.kv_cache_memory_bytes == 0) {
            auto mem = core::read_usable_memory_bytes();
            if (!mem) return mem.err();
            available =
                static_cast<int64_t>(static_cast<double>(*mem) * k_default_host_memory_fraction);
        }
        auto blocks = plan_kv_blocks(req, block_bytes, available);
        if (!blocks) return make_error("KV cache: %s", blocks.message().c_str());
        kv_cache_spec spec;
        spec.num_blocks = *blocks;
        spec.block_size = req.block_size;
        spec.type = *kv_type;
        cpu_executor_options opts;
        opts.num_threads = req.num_threads;
        opts.first_layer = req.first_layer;
        opts.last_layer = req.last_layer;
        opts.on_load_progress = req.on_load_progress;
        opts.hybrid_kv_groups = req.hybrid_kv_groups;
        auto exec = cpu_executor::create(mc, model.weights, spec, opts);
        if (!exec) return exec.err();
        return std::unique_ptr<model_executor>(std::move(exec.value()));
    }
};

}  // namespace

void register_cpu_backend() { register_backend(std::make_unique<cpu_backend>()); }

}  // namespace actorlm

// llm_engine::create(cfg): loads a GGUF file or Hugging Face directory, its
// tokenizer, sizes the KV cache (a byte budget, or a fraction of MemAvailable,
// capped at what max_num_seqs full-length sequences can use) and builds the
// CPU executor. Runs once on the caller's thread.
#include <algorithm>

#include "core/kv_cache_sizing.hpp"
#include "core/llm_engine.hpp"
#include "model/cpu_executor.hpp"
#include "model/executor_factory.hpp"
#include "model/model_loader.hpp"

namespace actorlm::core {

result<std::unique_ptr<llm_engine>> llm_engine::create(const llm_engine_config& cfg) {
    if (cfg.model_path.empty()) return make_error("no model path given");
    auto model = load_model(cfg.model_path);
    if (!model) return model.err();
    auto tok = load_tokenizer_for_model(cfg.model_path);
    if (!tok) return make_error("%s: tokenizer: %s", cfg.model_path.c_str(), tok.message().c_str());

    auto resolved = resolve_kv_dtype(cfg.kv_cache_dtype, model->weights);
    if (!resolved) return resolved.err();
    const dtype kv_type = resolved.value();
    if (cfg.block_size <= 0) return make_error("block_size must be positive, got %d", cfg.block_size);
    const model_config& mc = model->config;
    const int64_t model_len = cfg.max_model_len > 0 ? cfg.max_model_len : mc.max_position;
    auto blocks = cfg.kv_cache_memory_bytes > 0
                      ? kv_blocks_for_budget(mc, cfg.block_size, kv_type, cfg.kv_cache_memory_bytes)
                      : kv_blocks_for_free_memory(mc, cfg.block_size, kv_type,
                                                  cfg.kv_cache_memory_fraction);
    if (!blocks) return blocks.err();
    // More blocks than max_num_seqs full-length sequences can hold is wasted memory.
    const int64_t useful =
        static_cast<int64_t>(cfg.max_num_seqs) * ((model_len + cfg.block_size - 1) / cfg.block_size);
    kv_cache_spec spec;
    spec.num_blocks = static_cast<int32_t>(std::min<int64_t>(*blocks, std::max<int64_t>(useful, 1)));
    spec.block_size = cfg.block_size;
    spec.type = kv_type;
    cpu_executor_options opts;
    opts.num_threads = cfg.num_threads;
    auto exec = cpu_executor::create(mc, model->weights, spec, opts);
    if (!exec) return exec.err();

    struct holder : owned {
        loaded_model model;
        std::unique_ptr<tokenizer> tok;
        std::unique_ptr<cpu_executor> exec;
    };
    auto own = std::make_unique<holder>();
    own->model = std::move(model).value();
    own->tok = std::move(tok).value();
    own->exec = std::move(exec).value();
    auto eng = create(cfg, *own->tok, *own->exec);
    if (!eng) return eng.err();
    (*eng)->own_ = std::move(own);
    return eng;
}

}  // namespace actorlm::core

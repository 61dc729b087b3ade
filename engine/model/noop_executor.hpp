// noop_executor: a model_executor that runs no model — it returns zero logits
// (so greedy sampling picks token 0) for the rows asked for. The scheduler and
// actor-hop benchmarks use it to measure everything except the forward pass.
// It validates the batch layout like a real executor would.
#pragma once

#include "model/model_executor.hpp"

namespace actorlm {

class noop_executor final : public model_executor {
public:
    /// A config with `vocab_size` and one layer; the KV cache is only described.
    noop_executor(int64_t vocab_size, kv_cache_spec spec);

    const model_config& config() const override { return config_; }
    const kv_cache_spec& kv_spec() const override { return spec_; }
    status forward(const forward_batch& batch, std::vector<float>& logits) override;

private:
    model_config config_;
    kv_cache_spec spec_;
};

}  // namespace actorlm

// noop_executor implementation.
#include "model/noop_executor.hpp"

namespace actorlm {

noop_executor::noop_executor(int64_t vocab_size, kv_cache_spec spec) : spec_(spec) {
    config_.vocab_size = vocab_size;
    config_.num_layers = 1;
    config_.hidden_size = 1;
    config_.num_heads = 1;
    config_.num_kv_heads = 1;
    config_.head_dim = 1;
    config_.max_position = 1 << 20;
    config_.name = "noop";
}

status noop_executor::forward(const forward_batch& batch, std::vector<float>& logits) {
    const auto max_slot = static_cast<int64_t>(spec_.num_blocks) * spec_.block_size;
    for (int64_t slot : batch.slot_mapping)
        if (slot < 0 || slot >= max_slot)
            return make_error("slot %lld is outside the KV cache (%lld slots)",
                              static_cast<long long>(slot), static_cast<long long>(max_slot));
    logits.assign(batch.logits_indices.size() * static_cast<size_t>(config_.vocab_size), 0.0f);
    return status::success();
}

}  // namespace actorlm

// model_executor: what a worker runs each step. It owns the model weights and
// the paged KV cache tensors; the scheduler owns the block accounting and tells
// the executor where to write and read through forward_batch. The CPU and CUDA
// backends implement it; tests and the scheduler benchmark use a no-op one.
#pragma once

#include <cstdint>
#include <vector>

#include "kv/kv_block_io.hpp"
#include "base/dtype.hpp"
#include "model/forward_batch.hpp"
#include "model/model_config.hpp"
#include "base/result.hpp"

namespace actorlm {

/// Shape of the paged KV cache a backend allocates.
struct kv_cache_spec {
    int32_t num_blocks = 0;
    int32_t block_size = 16;  // tokens per block
    dtype type = dtype::f32;  // f32 or f16 on the CPU; f16/bf16 on CUDA
    /// 1: one block table per sequence covers every layer. > 1: the executor pages KV per
    /// attention type, make_kv_cache_layout(config, true), and a sequence's table holds
    /// num_kv_groups blocks per block index (kv_cache_manager.hpp).
    int32_t num_kv_groups = 1;
};

class model_executor {
public:
    virtual ~model_executor() = default;

    virtual const model_config& config() const = 0;
    virtual const kv_cache_spec& kv_spec() const = 0;

    /// Runs one forward pass. On success `logits` holds
    /// batch.logits_indices.size() rows of config().vocab_size floats.
    virtual status forward(const forward_batch& batch, std::vector<float>& logits) = 0;

    /// Pipeline parallelism: runs only this executor's layers. `hidden_in`
    /// ([num_tokens][hidden] floats) is null on the first stage; non-last stages
    /// fill `hidden_out`, the last fills `logits` as forward() does. Executors
    /// that always hold the whole model keep this default.
    virtual status forward_stage(const forward_batch& batch, const float* hidden_in,
                                 std::vector<float>* hidden_out, std::vector<float>* logits) {
        (void)hidden_out;
        if (hidden_in != nullptr || logits == nullptr)
            return make_error("this executor runs whole models only");
        return forward(batch, *logits);
    }
    /// forward_stage() that also returns, on the last stage, the hidden states of
    /// batch.hidden_indices after the final norm (what lm_head would read) in
    /// `normed_hidden` ([indices][hidden]): the rows pooling requests are pooled from.
    /// The default serves only batches that ask for no such rows; an executor that
    /// cannot return them fails the step, and with it the pooling requests.
    virtual status forward_stage_with_hidden(const forward_batch& batch, const float* hidden_in,
                                             std::vector<float>* hidden_out,
                                             std::vector<float>* logits,
                                             std::vector<float>* normed_hidden) {
        if (!batch.hidden_indices.empty())
            return make_error("this executor does not return hidden states (pooling requests)");
        if (normed_hidden != nullptr) normed_hidden->clear();
        return forward_stage(batch, hidden_in, hidden_out, logits);
    }
    /// True when forward_stage_with_hidden can return hidden rows (pooling requests); an
    /// executor without it would fail every request of a step holding one.
    virtual bool returns_hidden_states() const { return false; }
    virtual bool is_first_stage() const { return true; }
    virtual bool is_last_stage() const { return true; }
    /// Bytes of the KV cache this executor allocated (0 if it does not know).
    virtual size_t kv_cache_bytes() const { return 0; }
    /// Of those, the bytes in memory now (all of them unless the backend maps its pool
    /// lazily). May cost a system call per page range: not for every step.
    virtual size_t kv_cache_resident_bytes() const { return kv_cache_bytes(); }
    /// Block-level byte access to the KV cache for KV connectors; null when this
    /// backend does not offer it (connectors are then refused at start-up).
    virtual kv_block_io* kv_blocks() { return nullptr; }
};

}  // namespace actorlm

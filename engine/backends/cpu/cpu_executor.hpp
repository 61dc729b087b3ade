// cpu_executor: the CPU backend's model_executor for every dense decoder whose
// model_recipe it implements (Llama / Mistral / Qwen2 / Qwen3, and the Gemma-style
// norm, GeGLU, post-norm, scale and final soft-cap features), and BERT-style encoders
// (absolute positions, post-LayerNorm, GELU FFN, bidirectional attention; hidden states only). One
// call runs a flattened mixed batch (prefill chunks and decode tokens of many sequences) through
// the layers [first_layer, last_layer) it owns, writing K/V into the paged cache and attending
// through block tables. Not thread-safe: one forward at a time (its kernels use the executor's
// pool).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <actorlm/engine.hpp>

#include "backends/cpu/cpu_moe.hpp"
#include "cpu/rope.hpp"
#include "cpu/thread_pool.hpp"
#include "model/kv_cache_layout.hpp"
#include "model/kv_cache_storage.hpp"
#include "model/model_executor.hpp"
#include "model/model_weights.hpp"

namespace actorlm {

/// Threads and the pipeline-stage layer range of a cpu_executor.
struct cpu_executor_options {
    int num_threads = 0;      // 0: one per hardware thread
    int64_t first_layer = 0;  // first layer this stage runs
    int64_t last_layer = -1;  // one past the last layer; -1 means config.num_layers
    // Called as the layer matrices are repacked (the pass that reads them from the file).
    std::function<void(const load_progress&)> on_load_progress;
    // Page KV per attention type (model/kv_cache_layout.hpp) when the model mixes full and
    // sliding layers: a block then holds layout.num_slots layers, not every layer. Needs
    // every layer in this executor.
    bool hybrid_kv_groups = false;
};

class cpu_executor final : public model_executor {
public:
    /// Validates the weights against the config (shapes, required tensors for the
    /// layer range and stage role), refuses a recipe feature it does not implement
    /// (naming it), converts norms and biases to F32, and allocates
    /// the KV cache for the owned layers. Errors name the offending tensor or field.
    static result<std::unique_ptr<cpu_executor>> create(model_config config, model_weights weights,
                                                        const kv_cache_spec& kv_spec,
                                                        const cpu_executor_options& options);

    const model_config& config() const override { return config_; }
    const kv_cache_spec& kv_spec() const override { return kv_spec_; }

    /// Whole model in one process: fails unless this executor owns every layer.
    status forward(const forward_batch& batch, std::vector<float>& logits) override;

    /// Runs this stage's layers. `hidden_in` ([num_tokens][hidden] floats) must be null
    /// on the first stage (token_ids are embedded) and set otherwise. Non-last stages
    /// write the residual stream to `hidden_out` ([num_tokens][hidden]); the last stage
    /// writes logits for batch.logits_indices to `logits` ([indices][vocab]).
    status forward_stage(const forward_batch& batch, const float* hidden_in,
                         std::vector<float>* hidden_out, std::vector<float>* logits);
    /// forward_stage(), and on the last stage the final-norm hidden states of
    /// batch.hidden_indices in `normed_hidden` ([indices][hidden]).
    bool returns_hidden_states() const override { return true; }
    status forward_stage_with_hidden(const forward_batch& batch, const float* hidden_in,
                                     std::vector<float>* hidden_out, std::vector<float>* logits,
                                     std::vector<float>* normed_hidden) override;

    int64_t first_layer() const { return first_layer_; }
    int64_t last_layer() const { return last_layer_; }
    bool is_first_stage() const { return first_layer_ == 0; }
    bool is_last_stage() const { return last_layer_ == config_.num_layers; }
    /// Bytes of the KV cache this executor allocated.
    size_t kv_cache_bytes() const { return kv_.num_bytes(); }
    size_t kv_cache_resident_bytes() const override { return kv_.resident_bytes(); }
    /// The paged cache's block bytes (KV connectors).
    kv_block_io* kv_blocks() override { return &kv_; }

private:
    // Norm weights and biases of one layer, converted to F32 once.
    struct layer_params {
        std::vector<float> attn_norm, ffn_norm, q_norm, k_norm, bq, bk, bv;
        std::vector<float> post_attn_norm, post_ffn_norm;
        std::vector<float> bo, b_up, b_down, attn_norm_bias, ffn_norm_bias;
    };

    cpu_executor(model_config config, model_weights weights, const kv_cache_spec& kv_spec,
                 kv_cache_storage kv, int64_t first_layer, int64_t last_layer, int num_threads);

    // Replaces matrices by the layout the active cpu level multiplies fastest
    // (Q8_0 and Q4_K -> 16-row panels on AVX-512 VNNI); done once, at creation.
    /// Lays the layer matrices out as panels, reporting the bytes done to `report`.
    void repack_matrices(const std::function<void(const load_progress&)>& report);
    status check_batch(const forward_batch& batch) const;
    /// Q, K, V of `in` (this layer's attention input): biases, Q/K norm and RoPE as the
    /// recipe says, K and V written to the cache; both layer forms share it.
    void project_qkv(int64_t layer, const float* in, const forward_batch& batch);
    void run_layer(int64_t layer, const forward_batch& batch);
    // The dense gated FFN of xn_ into delta_ (a sparse layer runs moe_ffn instead).
    void run_dense_ffn(const layer_weights& w, int64_t num_tokens);
    // The encoder layer (recipe.placement == post): norm(x + attn(x)), norm(x + ffn(x)).
    void run_post_norm_layer(int64_t layer, const forward_batch& batch);
    void add_absolute_positions(const forward_batch& batch);
    void run_attention(int64_t layer, const forward_batch& batch);
    /// With several KV-cache groups: each group's block tables and KV-write slots for this
    /// batch, gathered from its interleaved tables (forward_batch::num_kv_groups).
    void gather_group_tables(const forward_batch& batch);
    /// The storage layer of model layer `layer` (its slot with groups, else its local index).
    int64_t kv_layer(int64_t layer) const;
    /// The KV-write slot of batch token `t` for model layer `layer`.
    int64_t kv_slot(int64_t layer, const forward_batch& batch, int64_t t) const;
    /// Sequence `seq`'s block table for model layer `layer` (one block per block index).
    const int32_t* block_table(int64_t layer, const forward_batch& batch, int32_t seq) const;
    void compute_logits(const forward_batch& batch, std::vector<float>& logits);
    void compute_normed_hidden(const forward_batch& batch, std::vector<float>& out);
    // Runs fn over [0, n) rows on the pool, or inline when the work is small.
    void for_rows(int64_t n, int64_t elems_per_row,
                  const std::function<void(int64_t, int64_t)>& fn);

    model_config config_;
    model_weights weights_;
    kv_cache_spec kv_spec_;
    kv_cache_storage kv_;
    kv_cache_layout layout_;
    // Several groups: per group, [num_seqs][width] block tables and [num_tokens] slots.
    std::vector<std::vector<int32_t>> group_tables_;
    std::vector<std::vector<int64_t>> group_slots_;
    int32_t group_table_width_ = 0;
    int64_t first_layer_ = 0;
    int64_t last_layer_ = 0;
    std::unique_ptr<cpu::thread_pool> pool_;
    cpu::rope_table rope_;
    // config.sliding_rope_theta > 0: the sliding-window layers' own table (Gemma 3's local RoPE).
    cpu::rope_table sliding_rope_;
    bool has_sliding_rope_ = false;
    std::vector<layer_params> params_;  // indexed by layer - first_layer
    std::vector<float> output_norm_;
    // recipe.positions == absolute: the embedding LayerNorm and token type 0's row.
    std::vector<float> embedding_norm_, embedding_norm_bias_, token_type0_;

    // Scratch, resized per call: residual stream, normed input, projections, MLP.
    std::vector<float> x_, xn_, q_, k_, v_, attn_, delta_, gate_, up_, cos_, sin_;
    // The sliding layers' angles (has_sliding_rope_).
    std::vector<float> sliding_cos_, sliding_sin_;
    moe_scratch moe_;  // sparse layers' routing and gathered rows
};

}  // namespace actorlm
